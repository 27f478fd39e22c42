"""Settings kept for hot paths (xsender.hot_settings) follow every change Django announces."""

from __future__ import annotations

from django.conf import settings
from django.test import override_settings

from campaigns import links
from xsender.hot_settings import setting


def test_a_kept_setting_follows_an_override_and_its_end():
    before = setting("XSENDER_BASE_URL")
    assert before == settings.XSENDER_BASE_URL
    with override_settings(XSENDER_BASE_URL="https://mail.example.org"):
        assert setting("XSENDER_BASE_URL") == "https://mail.example.org"
        assert links.unsubscribe_url(7).startswith("https://mail.example.org/")
    assert setting("XSENDER_BASE_URL") == before


def test_links_are_signed_with_the_secret_key_of_the_moment():
    token = links.recipient_token(7, links.UNSUBSCRIBE)
    with override_settings(SECRET_KEY="another-secret-key-" + "x" * 40):
        assert links.recipient_token(7, links.UNSUBSCRIBE) != token
        assert links.read_recipient_token(token, links.UNSUBSCRIBE) is None  # signed with the old key
    assert links.read_recipient_token(token, links.UNSUBSCRIBE) == 7
