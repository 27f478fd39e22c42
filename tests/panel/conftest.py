from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import Tenant


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def panel(alice: Tenant) -> Client:
    """alice, signed in to the panel."""
    return signed_in(alice.user)
