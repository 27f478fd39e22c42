from tests.system.conftest import processes  # noqa: F401  (real processes for the browser to talk to)
