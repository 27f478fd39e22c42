"""Contacts in Chromium against gunicorn: a tenant adds a list, adds a contact into it, finds it by search and tags
it in bulk; the pages fit 375 px and 1,440 px (screenshots to docs/screenshots/ only with XSENDER_SCREENSHOTS)."""

from __future__ import annotations

import pytest

from contacts.models import Contact
from tests.e2e.test_panel_devices import browser_page  # noqa: F401  (the Chromium page fixture)
from tests.e2e.test_panel_pages import carol, page, panel_url, shoot, sign_in  # noqa: F401  (fixtures, helpers)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_tenant_adds_a_list_and_a_contact_finds_it_and_tags_it_in_bulk(page, carol):  # noqa: F811
    sign_in(page, carol)
    page.click("nav.nav >> text=Contacts")
    assert "No contacts yet — add your first one" in page.inner_text("main")
    page.click("nav.tabs >> text=Lists")
    page.fill("#id_name", "Customers")
    page.click("#create-list button[type=submit]")
    assert "List “Customers” created." in page.inner_text(".flashes")

    page.click("nav.tabs >> text=Contacts")
    page.click("#add-contact")
    page.fill("#id_email", "dave@example.com")
    page.fill("#id_first_name", "Dave")
    page.check("#id_lists label:has-text('Customers') input")
    shoot(page, "contact-form")
    page.click("#contact-form button[type=submit]")
    assert "Contact dave@example.com added." in page.inner_text(".flashes")

    page.fill("#id_search", "dav")
    page.click("#contact-filters button[type=submit]")
    page.wait_for_url("**/contacts/?*search=dav*")
    assert "dave@example.com" in page.inner_text("#contacts-table") and "Customers" in page.inner_text(
        "#contacts-table"
    )
    page.check("#contacts-table input[name=contacts]")
    page.select_option("#id_bulk_action", "add-tag")
    page.fill("#id_bulk_tag", "vip")
    page.click("#bulk button[type=submit]")
    page.wait_for_url("**/contacts/?*search=dav*")
    assert "1 contact(s) tagged “vip”." in page.inner_text(".flashes")
    assert "vip" in page.inner_text("#contacts-table")
    shoot(page, "contacts")
    assert [t.name for t in Contact.objects.get(owner=carol).tags.all()] == ["vip"]
    for tab, name in (("Lists", "contact-lists"), ("Tags", "contact-tags"), ("Custom fields", "custom-fields")):
        page.click(f"nav.tabs >> text={tab}")
        shoot(page, name)
