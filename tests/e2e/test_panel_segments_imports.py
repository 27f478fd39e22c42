"""Segments, import and export in Chromium against gunicorn and a worker: a tenant builds a segment from one rule,
counts it and saves it; imports a CSV of 10,000 contacts with one bad row and sees the worker finish it (9,999
created, 1 skipped with its reason); then downloads the segment's contacts as CSV. Every page fits 375 px and 1,440 px (screenshots to
docs/screenshots/ only with XSENDER_SCREENSHOTS)."""

from __future__ import annotations

import csv
import time

import pytest

from contacts import services as contacts
from contacts.models import Contact, ImportJob, Segment
from tests.e2e.test_panel_devices import browser_page  # noqa: F401  (the Chromium page fixture)
from tests.e2e.test_panel_pages import carol, page, panel_url, shoot, sign_in  # noqa: F401  (fixtures, helpers)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROWS = [
    ("email", "first_name", "last_name"),
    ("dan@example.com", "Dan", "Brown"),
    ("erin@example.com", "Erin", "Green"),
    ("not-an-email", "Hal", "Grey"),  # row 4 of the file: skipped
    ("frank@example.com", "Frank", "White"),
    ("dana@example.com", "Dana", "Black"),
    *((f"pat{i}@example.com", "Pat", f"N{i}") for i in range(9_995)),
]  # 10,000 contacts


def wait_until_done(tab, timeout: float = 30.0) -> None:
    """Poll the import's page (htmx refreshes it every 2 s while it runs; a reload otherwise) until it is done."""
    deadline = time.monotonic() + timeout
    while tab.inner_text("#import-status") not in ("Done", "Failed"):
        assert time.monotonic() < deadline, f"the import is still {tab.inner_text('#import-status')!r}"
        tab.wait_for_timeout(500)
        if "Refresh" not in tab.inner_text("#import-progress"):
            tab.reload()


def test_a_tenant_builds_a_segment_imports_a_csv_and_exports_the_segment(page, carol, tmp_path):  # noqa: F811
    for email, name in (("dave@example.com", "Dave"), ("daisy@example.com", "Daisy"), ("bob@example.com", "Bob")):
        contacts.create_contact(owner=carol, email=email, first_name=name)
    sign_in(page, carol)
    page.click("nav.nav >> text=Contacts")
    page.click("nav.tabs >> text=Segments")
    assert "No segments yet" in page.inner_text("main")

    # 1. A segment of one rule, counted before it is saved.
    page.click("#add-segment")
    page.fill("#id_name", "Da names")
    page.select_option("#id_rule_0_field", "first_name")
    page.select_option("#id_rule_0_op", "starts_with")
    page.fill("#id_rule_0_value", "Da")
    page.click("#count-segment")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#segment-count") == "2 contacts match these rules now."
    assert not Segment.objects.filter(owner=carol).exists()  # a count saves nothing
    shoot(page, "segment-form")
    page.click("#segment-form button[value=save]")
    page.wait_for_url(f"{page.base}/contacts/segments/")
    assert "Segment “Da names” saved." in page.inner_text(".flashes")
    row = page.locator("#segments-table tbody tr", has_text="Da names")
    assert row.locator("td.num").inner_text() == "2"
    assert "All rules of 1 rule" in row.inner_text()
    segment = Segment.objects.get(owner=carol)
    assert segment.rules == [{"field": "first_name", "op": "starts_with", "value": "Da"}]
    shoot(page, "segments")

    # 2. A CSV of 10,000 rows, one with a bad email, mapped as pre-filled and imported by the worker.
    path = tmp_path / "people.csv"
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(ROWS)
    page.click("nav.tabs >> text=Import")
    assert "No imports yet" in page.inner_text("main")
    page.set_input_files("#id_file", str(path))
    page.click("#import-upload button[type=submit]")
    assert "Map the columns of “people.csv”" in page.inner_text("h1")
    assert [page.input_value(f"#id_column_{i}") for i in range(3)] == ["email", "first_name", "last_name"]
    shoot(page, "import-mapping")
    page.click("#import-mapping button[type=submit]")
    page.wait_for_url("**/contacts/imports/*/")
    assert "Import of “people.csv” started." in page.inner_text(".flashes")
    wait_until_done(page, timeout=90)
    assert page.inner_text("#import-status") == "Done"
    assert page.inner_text("#import-created") == "9999"
    assert page.inner_text("#import-skipped") == "1"
    assert page.inner_text("#import-updated") == "0"
    report = page.eval_on_selector_all("#import-report tbody tr", "rows => rows.map(r => r.innerText.split('\\t'))")
    assert len(report) == 1 and report[0][0] == "4" and report[0][1].startswith("email:"), report
    assert ImportJob.objects.get(owner=carol).rows_created == 9_999
    assert Contact.objects.filter(owner=carol).count() == 10_002
    shoot(page, "import")
    page.click("text=← Imports")
    job_row = page.locator("#imports-table tbody tr", has_text="people.csv")
    assert "Done" in job_row.inner_text()
    shoot(page, "imports")

    # 3. The export of the segment: the two Da… contacts before, and the two imported.
    page.click("nav.tabs >> text=Export")
    page.select_option("#id_segment", segment.public_id)
    shoot(page, "contact-export")
    with page.expect_download() as download:
        page.click("#export-form button[name=download]")
    assert download.value.suggested_filename.startswith("xsender-contacts-")
    with open(download.value.path(), newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert sorted(r["email"] for r in exported) == [
        "daisy@example.com",
        "dan@example.com",
        "dana@example.com",
        "dave@example.com",
    ]
    assert {r["first_name"] for r in exported} == {"Daisy", "Dan", "Dana", "Dave"}
    by_email = {r["email"]: r for r in exported}
    assert by_email["dan@example.com"]["last_name"] == "Brown"

    page.click("nav.tabs >> text=Segments")
    row = page.locator("#segments-table tbody tr", has_text="Da names")
    assert row.locator("td.num").inner_text() == "4"  # the live count includes the imported contacts
