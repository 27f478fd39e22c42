"""Importing and exporting contacts in the panel: an upload goes to its column mapping (auto-mapped by header
name), starts the background import (run here directly, as a worker would), whose page shows its progress and
skipped rows with their reasons; a bad mapping is shown at its column; the export is the filtered contacts; another
tenant's import is a 404; the imports list's query count does not grow with its rows."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts import imports, services
from contacts.models import Contact, ImportJob
from tests.panel.conftest import signed_in

pytestmark = pytest.mark.django_db
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|<style|\sstyle\s*=", re.I)
PEOPLE = b"Email,First Name,Age\nann@example.com,Ann,30\nnot-an-email,Bad,1\ncy@example.com,Cy,40\n"


def upload(panel, data: bytes = PEOPLE, name: str = "people.csv"):
    return panel.post("/contacts/imports/", {"file": SimpleUploadedFile(name, data, "text/csv")}, secure=True)


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def start(panel, html: str, **fields: str):
    data = {"token": token_of(html), "column_0": "email", "column_1": "first_name", "column_2": "", "tags": ""}
    return panel.post("/contacts/imports/start/", {**data, "contact_list": "", **fields}, secure=True)


def field_errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="id_{re.escape(field)}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def test_the_empty_imports_page_invites_to_upload(panel):
    html = panel.get("/contacts/imports/", secure=True).content.decode()
    assert "No imports yet" in html and 'type="file"' in html


def test_columns_named_like_fields_are_mapped_already(alice, panel):
    services.create_custom_field(owner=alice.user, name="Age", type="number")
    html = upload(panel).content.decode()
    assert re.search(r'name="column_0"[^>]*>.*?<option value="email" selected>', html, re.S)
    assert re.search(r'name="column_1"[^>]*>.*?<option value="first_name" selected>', html, re.S)
    assert re.search(r'name="column_2"[^>]*>.*?<option value="custom\.custom_field_\w+" selected>', html, re.S)


def test_a_file_that_is_not_csv_or_xlsx_is_refused_at_the_file(panel):
    answer = upload(panel, b"hello", "notes.pdf")
    assert answer.status_code == 400 and field_errors(answer.content.decode(), "file") != ""


def test_an_import_with_one_bad_row_shows_it_skipped_and_the_others_created(alice, panel):
    contact_list = services.create_list(owner=alice.user, name="Customers")
    answer = start(panel, upload(panel).content.decode(), contact_list=contact_list.public_id, tags="fair, vip")
    job = ImportJob.objects.get(owner=alice.user)
    assert answer.status_code == 302 and answer["Location"] == f"/contacts/imports/{job.public_id}/"
    imports.run_import(job.pk)
    html = panel.get(f"/contacts/imports/{job.public_id}/", secure=True).content.decode()
    assert '<dd id="import-created">2</dd>' in html and '<dd id="import-skipped">1</dd>' in html
    assert "not a valid email" in html and '<td class="num">3</td>' in html
    assert sorted(Contact.objects.filter(owner=alice.user, lists=contact_list).values_list("email", flat=True)) == [
        "ann@example.com",
        "cy@example.com",
    ]


def test_a_running_imports_page_polls_every_two_seconds_and_a_finished_one_does_not(alice, panel):
    start(panel, upload(panel).content.decode())
    job = ImportJob.objects.get(owner=alice.user)
    before = panel.get(f"/contacts/imports/{job.public_id}/", secure=True).content.decode()
    imports.run_import(job.pk)
    after = panel.get(f"/contacts/imports/{job.public_id}/", HTTP_HX_REQUEST="true", secure=True).content.decode()
    assert 'hx-trigger="every 2s"' in before and ">Refresh</a>" in before
    assert "every 2s" not in after and after.lstrip().startswith('<div id="import-progress"')


def test_a_mapping_without_email_or_phone_is_refused_and_nothing_starts(alice, panel):
    answer = start(panel, upload(panel).content.decode(), column_0="")
    assert answer.status_code == 400 and "Map a column to email or phone." in answer.content.decode()
    assert not ImportJob.objects.filter(owner=alice.user).exists()


def test_two_columns_on_one_field_are_refused_at_the_column(alice, panel):
    answer = start(panel, upload(panel).content.decode(), column_1="email")
    assert field_errors(answer.content.decode(), "column_1") != ""
    assert not ImportJob.objects.filter(owner=alice.user).exists()


def test_the_import_pages_have_no_inline_script_or_style(alice, panel):
    mapping = upload(panel).content.decode()
    start(panel, mapping)
    job = ImportJob.objects.get(owner=alice.user)
    pages = [mapping, *(panel.get(url, secure=True).content.decode() for url in
             ("/contacts/imports/", f"/contacts/imports/{job.public_id}/", "/contacts/export/"))]  # fmt: skip
    assert [bool(INLINE.search(page)) for page in pages] == [False] * 4


def test_the_imports_list_runs_as_many_queries_for_two_imports_as_for_eight(alice, panel):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert panel.get("/contacts/imports/", secure=True).status_code == 200
        return len(captured)

    for n in range(2):
        services.start_import(owner=alice.user, filename=f"{n}.csv", data=b"email\na@example.com\n", enqueue=False)
    few = queries()
    for n in range(2, 8):
        services.start_import(owner=alice.user, filename=f"{n}.csv", data=b"email\na@example.com\n", enqueue=False)
    assert queries() == few


def test_another_tenants_import_is_a_404(alice, bob):
    job = services.start_import(owner=alice.user, filename="a.csv", data=b"email\na@example.com\n", enqueue=False)
    assert signed_in(bob.user).get(f"/contacts/imports/{job.public_id}/", secure=True).status_code == 404


def test_another_tenants_upload_token_cannot_be_imported(alice, bob, panel):
    token = token_of(upload(panel).content.decode())
    answer = signed_in(bob.user).post("/contacts/imports/start/", {"token": token, "column_0": "email"}, secure=True)
    assert answer.status_code == 302 and not ImportJob.objects.exists()


# ---------------------------------------------------------------- export


def rows_of(answer) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))


def test_the_export_is_the_contacts_of_the_chosen_list(alice, panel):
    customers = services.create_list(owner=alice.user, name="Customers")
    services.create_contact(owner=alice.user, email="ann@example.com", lists=[customers.public_id])
    services.create_contact(owner=alice.user, email="bo@example.com")
    answer = panel.get(f"/contacts/export/?list={customers.public_id}&download=1", secure=True)
    assert answer["Content-Type"].startswith("text/csv")
    assert [(r["email"], r["lists"]) for r in rows_of(answer)] == [("ann@example.com", "Customers")]


def test_the_export_of_a_segment_equals_its_contacts(alice, panel):
    services.create_contact(owner=alice.user, email="ann@example.com", tags=["vip"])
    services.create_contact(owner=alice.user, email="bo@example.com", tags=["vip"])
    services.create_contact(owner=alice.user, email="cy@example.com")
    segment = services.create_segment(
        owner=alice.user, name="VIPs", rules=[{"field": "tag", "op": "has", "value": "vip"}]
    )
    answer = panel.get(f"/contacts/export/?segment={segment.public_id}&download=1", secure=True)
    assert sorted(r["email"] for r in rows_of(answer)) == ["ann@example.com", "bo@example.com"]


def test_another_tenants_segment_cannot_be_exported(alice, bob):
    services.create_contact(owner=alice.user, email="ann@example.com", tags=["vip"])
    segment = services.create_segment(
        owner=alice.user, name="VIPs", rules=[{"field": "tag", "op": "has", "value": "vip"}]
    )
    answer = signed_in(bob.user).get(f"/contacts/export/?segment={segment.public_id}&download=1", secure=True)
    assert answer.status_code == 400 and "ann@example.com" not in answer.content.decode()
