"""Bulk send from a file: CSV or XLSX, columns mapped, placeholders filled, every row checked before anything is
stored, then one accept (one charge) for all of them."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from accounts import services as accounts
from accounts.models import CreditAccount
from messaging.models import Message
from tests.messaging.conftest import make_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateways(alice):
    accounts.add_credits(user=alice.user, channel="email", amount=20_000, reason="topup")
    return {ch: make_gateway(alice.user, ch, f"{ch}-console", is_default=True) for ch in ("email", "sms", "whatsapp")}


def csv_file(rows: list[str], name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join(rows) + "\n").encode(), content_type="text/csv")


def upload(panel, file, channel: str = "email"):
    return panel.post("/send/bulk/", {"channel": channel, "file": file}, secure=True)


def token_of(response) -> str:
    return response.content.decode().split('name="token" value="')[1].split('"')[0]


def review(panel, token: str, action: str = "send", **fields):
    form = {"token": token, "action": action, "col_recipient": "email", "col_subject": "", "col_body": "",
            "col_sender_name": "", "text_subject": "Hi {{ name }}", "text_body": "Dear {{name}}, your code is {{ code }}",
            "text_sender_name": "", "gateway": "email-console", "schedule_at": ""}  # fmt: skip
    return panel.post("/send/bulk/review/", {**form, **fields}, secure=True)


def balance(user) -> int:
    return CreditAccount.objects.get(user=user, channel="email").balance


def test_a_csv_is_previewed_with_its_placeholders_filled(alice, gateways, panel):
    response = upload(panel, csv_file(["email,name,code", "carol@example.com,Carol,{{ name }}"]))
    html = review(panel, token_of(response), action="check").content.decode()
    assert "Hi Carol" in html and "Dear Carol, your code is {{ name }}" in html  # inserted text is not re-scanned
    assert Message.objects.count() == 0


def test_one_bad_row_is_named_by_row_and_column_and_nothing_is_stored_or_charged(alice, gateways, panel):
    rows = ["email,name,code"] + [f"p{n}@example.com,P{n},{n}" for n in range(300)]
    rows[151] = "not-an-address,Bad,1"
    before = balance(alice.user)
    html = review(panel, token_of(upload(panel, csv_file(rows)))).content.decode()
    table = html.split('id="row-errors"')[1].split("</table>")[0]
    assert '<td class="num">152</td><td>column &#x27;email&#x27;</td>' in table
    assert Message.objects.count() == 0 and balance(alice.user) == before


def test_a_good_file_is_accepted_in_one_charge_and_the_uids_listed(alice, gateways, panel):
    rows = ["email,name,code"] + [f"p{n}@example.com,P{n},{n}" for n in range(1500)]
    before = balance(alice.user)
    html = review(panel, token_of(upload(panel, csv_file(rows)))).content.decode()
    sent = Message.objects.filter(user=alice.user, source="panel")
    assert sent.count() == 1500 and balance(alice.user) == before - 1500
    listed = html.split('id="bulk-uids"')[1].split("</ol>")[0]
    assert listed.count("<li>") == 1500 and str(sent.first().uid) in listed
    assert sent.get(recipient="p7@example.com").subject == "Hi P7"


def test_an_xlsx_file_is_read_like_a_csv(alice, gateways, panel):
    book = Workbook()
    book.active.append(["number", "message"])
    book.active.append(["+15555550101", "Hello"])
    book.active.append([None, None])  # a spreadsheet's blank trailing row
    data = io.BytesIO()
    book.save(data)
    file = SimpleUploadedFile("list.xlsx", data.getvalue())
    response = upload(panel, file, channel="sms")
    form = {"token": token_of(response), "action": "send", "col_recipient": "number", "col_body": "message",
            "text_body": "", "sms_type": "plain", "gateway": "sms-console"}  # fmt: skip
    panel.post("/send/bulk/review/", form, secure=True)
    assert list(Message.objects.values_list("recipient", "body")) == [("+15555550101", "Hello")]


def test_a_placeholder_naming_no_column_is_refused_before_any_row_is_checked(alice, gateways, panel):
    response = upload(panel, csv_file(["email,name", "carol@example.com,Carol"]))
    html = review(panel, token_of(response), text_subject="Hi {{ surname }}").content.decode()
    assert "No column named &#x27;surname&#x27; in the file." in html and Message.objects.count() == 0


def test_more_than_10000_rows_are_refused(alice, gateways, panel):
    rows = ["email"] + [f"p{n}@example.com" for n in range(10_001)]
    html = upload(panel, csv_file(rows)).content.decode()
    assert "At most 10,000 rows per file" in html


def test_a_file_that_is_not_a_table_is_refused(alice, panel):
    html = upload(panel, SimpleUploadedFile("list.pdf", b"%PDF-1.4")).content.decode()
    assert "Upload a .csv or .xlsx file." in html


def test_another_tenants_upload_is_unknown(alice, bob, gateways, panel):
    from tests.panel.conftest import signed_in

    token = token_of(upload(panel, csv_file(["email", "carol@example.com"])))
    response = review(signed_in(bob.user), token)
    assert response.status_code == 302 and Message.objects.count() == 0


def test_an_upload_is_sent_once(alice, gateways, panel):
    token = token_of(upload(panel, csv_file(["email,name,code", "carol@example.com,Carol,1"])))
    review(panel, token)
    review(panel, token)
    assert Message.objects.count() == 1
