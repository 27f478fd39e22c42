"""The product's settings with the single-message bench's reference view mounted beside the API."""

from xsender.settings import *  # noqa: F403

ROOT_URLCONF = "bench.single_urls"
