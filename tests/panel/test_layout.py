"""The panel's frame: navigation, sign-out, flash messages, time zone, and a policy that allows no inline code."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style|\sstyle\s*=", re.I)


PAGES = [
    "/", "/send/email/", "/send/sms/", "/send/whatsapp/", "/send/bulk/", "/history/", "/history/?status=Failed",
    "/gateway/android/devices/",
]  # fmt: skip


def test_the_navigation_names_every_built_page_and_marks_the_current_one(panel):
    html = panel.get("/gateway/android/devices/", secure=True).content.decode()
    nav = html[html.index('<nav class="nav"') : html.index("</nav>")]
    assert all(label in nav for label in ("Dashboard", "Gateways", "Android"))
    assert 'href="/gateway/android/devices/" aria-current="page"' in nav


def test_contacts_is_in_the_navigation_after_history_and_links_to_the_contacts_page(panel):
    html = panel.get("/", secure=True).content.decode()
    nav = html[html.index('<nav class="nav"') : html.index("</nav>")]
    assert '<a href="/contacts/"' in nav and ">Contacts</a>" in nav
    assert nav.index(">History<") < nav.index(">Contacts<") < nav.index(">Gateways<")


def test_every_panel_page_runs_only_the_projects_own_scripts_and_styles(panel):
    for url in PAGES:
        response = panel.get(url, secure=True)
        html = response.content.decode()
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert "style-src 'self'" in response["Content-Security-Policy"]
        assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html) and not INLINE_STYLE.search(html)


def test_htmx_and_the_stylesheet_are_served_by_the_project():
    html_refs = ("panel/vendor/htmx-2.0.11.min.js", "panel/panel.css")
    assert all(finders.find(path) for path in html_refs)


def test_the_sign_in_page_labels_its_fields_and_allows_no_inline_code():
    response = Client().get("/login/", secure=True)
    html = response.content.decode()
    assert '<label for="id_username"' in html and '<label for="id_password"' in html
    assert not INLINE_SCRIPT.search(html) and not INLINE_STYLE.search(html)


def test_the_signed_in_tenant_is_named_and_can_sign_out(alice, panel):
    assert alice.user.email in panel.get("/", secure=True).content.decode()
    assert panel.post("/logout/", secure=True).status_code == 302
    assert panel.get("/", secure=True)["Location"].startswith("/login/")


def test_pages_name_the_servers_time_zone(panel, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    assert "Europe/Berlin" in panel.get("/", secure=True).content.decode()
