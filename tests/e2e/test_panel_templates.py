"""Templates in Chromium against gunicorn: a tenant creates an email template, previews it for one of their contacts
(the HTML part in a sandboxed iframe), sees htmx refresh the preview as they type, and the pages fit 375 px and
1,440 px (screenshots to docs/screenshots/ only with XSENDER_SCREENSHOTS)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from campaigns.models import Template
from contacts import services as contacts
from tests.e2e.test_panel_devices import browser_page  # noqa: F401  (the Chromium page fixture)
from tests.e2e.test_panel_pages import carol, page, panel_url, shoot, sign_in  # noqa: F401  (fixtures, helpers)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_tenant_creates_an_email_template_and_previews_it_for_a_contact(page, carol):  # noqa: F811
    contacts.create_contact(owner=carol, email="dave@example.com", first_name="Dave")
    sign_in(page, carol)
    page.click("nav.nav >> text=Templates")
    assert "No templates yet — create your first one" in page.inner_text("main")
    page.click("#add-template")
    page.click("#template-channels >> text=Email")
    page.fill("#id_name", "Welcome")
    page.fill("#id_subject", "Hi {{ first_name }}")
    page.fill(
        "#id_html",
        "<style>h1 { font-style: italic }</style>"
        "<h1 style=\"color: rgb(200, 0, 0)\">Welcome, {{ first_name|default:'friend' }}</h1>",
    )
    page.fill("#id_text", "Welcome, {{ first_name }}")
    page.click("#template-form button[value=save]")
    assert "Template “Welcome” saved." in page.inner_text(".flashes")
    assert Template.objects.get(owner=carol).subject == "Hi {{ first_name }}"

    assert page.inner_text("#preview-subject") == "Hi Dave"
    assert page.frame_locator("#preview-html").locator("h1").inner_text() == "Welcome, Dave"
    assert page.get_attribute("#preview-html", "sandbox") == ""
    # The email's own inline styles render (the panel's policy forbids them; the part's own URL allows them).
    heading = page.frame_locator("#preview-html").locator("h1")
    assert heading.evaluate("h => getComputedStyle(h).color") == "rgb(200, 0, 0)"
    assert heading.evaluate("h => getComputedStyle(h).fontStyle") == "italic"
    shoot(page, "template-form")

    page.fill("#id_subject", "Hello again {{ first_name }}")  # htmx posts the typed form to the preview
    expect(page.locator("#preview-subject")).to_have_text("Hello again Dave")
    page.select_option("#id_contact", "")  # sample data, previewed with the button as without JavaScript
    page.click("#preview-button")
    assert page.inner_text("#preview-subject") == "Hello again Ada"
    assert page.inner_text("#preview-text") == "Welcome, Ada"
    assert Template.objects.get(owner=carol).subject == "Hi {{ first_name }}"  # a preview saves nothing

    page.click("text=← Templates")
    assert "Welcome" in page.inner_text("#templates-table")
    shoot(page, "templates")
