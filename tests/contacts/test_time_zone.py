"""A contact's time zone: an IANA name, checked wherever a contact is written (services, import, admin, panel),
stored as the zone database spells it, empty for the server's; shown in the export and the panel's form."""

from __future__ import annotations

import csv

import pytest

from contacts import exports, imports, services, values
from contacts.models import Contact
from tests.panel.conftest import signed_in
from xsender.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def zones(owner) -> dict[str, str]:
    return dict(Contact.objects.for_tenant(owner).values_list("email", "time_zone"))


# ---------------------------------------------------------------- services


def test_a_contact_keeps_its_time_zone_spelled_as_the_zone_database_does(alice):
    services.create_contact(owner=alice.user, email="ann@example.com", time_zone="Asia/Tokyo")
    services.create_contact(owner=alice.user, email="bo@example.com", time_zone=" europe/paris ")
    services.create_contact(owner=alice.user, email="cy@example.com", time_zone="US/Eastern")
    services.create_contact(owner=alice.user, email="di@example.com")
    assert zones(alice.user) == {
        "ann@example.com": "Asia/Tokyo", "bo@example.com": "Europe/Paris", "cy@example.com": "US/Eastern",
        "di@example.com": "",
    }  # fmt: skip


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "Paris", "UTC+2", "localtime", "Europe/Paris/x", 120])
def test_an_unknown_time_zone_is_refused_naming_the_field_and_nothing_is_saved(alice, bad):
    with pytest.raises(ValidationFailed) as refused:
        services.create_contact(owner=alice.user, email="ann@example.com", time_zone=bad)
    assert refused.value.errors[0]["field"] == "time_zone"
    assert not Contact.objects.for_tenant(alice.user).exists()


def test_an_update_changes_or_clears_the_time_zone_and_refuses_a_bad_one(alice):
    ann = services.create_contact(owner=alice.user, email="ann@example.com", time_zone="Asia/Tokyo")
    services.update_contact(contact=ann, time_zone="America/New_York")
    with pytest.raises(ValidationFailed, match="not a time zone"):
        services.update_contact(contact=ann, time_zone="America/Gotham")
    assert Contact.objects.get(pk=ann.pk).time_zone == "America/New_York"
    services.update_contact(contact=ann, time_zone="")
    assert Contact.objects.get(pk=ann.pk).time_zone == ""


def test_identify_sets_the_time_zone_and_an_empty_one_keeps_it(alice):
    services.identify_contact(owner=alice.user, email="ann@example.com", time_zone="Asia/Tokyo")
    services.identify_contact(owner=alice.user, email="ann@example.com", first_name="Ann", time_zone="")
    assert zones(alice.user) == {"ann@example.com": "Asia/Tokyo"}
    with pytest.raises(ValidationFailed) as refused:
        services.identify_contact(owner=alice.user, email="ann@example.com", time_zone="Nowhere/Land")
    assert refused.value.errors[0]["field"] == "time_zone"


def test_the_panel_suggests_every_zone_and_no_host_setting():
    names = values.time_zone_names()
    assert {"Asia/Tokyo", "America/New_York", "UTC"} <= set(names) and "localtime" not in names
    assert names == sorted(names)


# ---------------------------------------------------------------- import and export


def run(owner, data: bytes, **options):
    job = services.start_import(owner=owner, filename="people.csv", data=data, enqueue=False, **options)
    return imports.run_import(job.pk)


def test_an_import_fills_the_time_zone_column_and_skips_a_row_with_a_bad_one(alice):
    data = b"Email,Timezone\nann@example.com,Asia/Tokyo\nbo@example.com,Moon/Base\ncy@example.com,\n"
    job = run(alice.user, data)
    assert (job.status, job.rows_created, job.rows_skipped) == ("done", 2, 1)
    assert job.report == [{"row": 3, "reason": "time_zone: 'Moon/Base' is not a time zone; use an IANA name such "
                                               "as Europe/Paris."}]  # fmt: skip
    assert zones(alice.user) == {"ann@example.com": "Asia/Tokyo", "cy@example.com": ""}


def test_an_import_updates_a_contacts_time_zone_and_an_empty_cell_keeps_it(alice):
    services.create_contact(owner=alice.user, email="ann@example.com", time_zone="Asia/Tokyo")
    services.create_contact(owner=alice.user, email="bo@example.com", time_zone="Asia/Tokyo")
    data = b"email,time zone\nann@example.com,america/new_york\nbo@example.com,\n"
    job = run(alice.user, data)
    assert (job.rows_updated, job.rows_skipped) == (2, 0)
    assert zones(alice.user) == {"ann@example.com": "America/New_York", "bo@example.com": "Asia/Tokyo"}


def test_a_column_mapped_to_time_zone_by_hand_is_imported(alice):
    data = b"mail,where\nann@example.com,Europe/Paris\n"
    run(alice.user, data, mapping={"mail": "email", "where": "time_zone"})
    assert zones(alice.user) == {"ann@example.com": "Europe/Paris"}


def test_the_export_has_a_time_zone_column(alice):
    services.create_contact(owner=alice.user, email="ann@example.com", time_zone="Asia/Tokyo")
    services.create_contact(owner=alice.user, email="bo@example.com")
    found = list(csv.DictReader("".join(exports.export_csv(owner=alice.user)).splitlines()))
    assert {r["email"]: r["time_zone"] for r in found} == {"ann@example.com": "Asia/Tokyo", "bo@example.com": ""}


# ---------------------------------------------------------------- admin and panel

STATUSES = {"email_status": "subscribed", "sms_status": "subscribed", "whatsapp_status": "subscribed"}


def test_admin_saves_a_time_zone_and_shows_a_bad_one_at_its_field(admin_client, alice):
    data = {"owner": alice.user.pk, "email": "ann@example.com", "phone": "", "first_name": "", "last_name": "",
            "company": "", "custom_json": "{}", **STATUSES}  # fmt: skip
    refused = admin_client.post("/admin/contacts/contact/add/", {**data, "time_zone": "Europe/Lutetia"}, secure=True)
    assert "is not a time zone" in refused.content.decode() and not Contact.objects.exists()
    saved = admin_client.post("/admin/contacts/contact/add/", {**data, "time_zone": "europe/paris"}, secure=True)
    assert saved.status_code == 302 and zones(alice.user) == {"ann@example.com": "Europe/Paris"}


def panel_form(**fields: str) -> dict[str, str]:
    return {"email": "", "phone": "", "first_name": "", "last_name": "", "company": "", "time_zone": "", "tags": "",
            **STATUSES, **fields}  # fmt: skip


def test_the_panel_form_saves_the_time_zone_and_shows_it_again_with_suggestions(alice):
    panel = signed_in(alice.user)
    response = panel.post("/contacts/add/", panel_form(email="ann@example.com", time_zone="Asia/Tokyo"), secure=True)
    ann = Contact.objects.get(owner=alice.user)
    assert response.status_code == 302 and ann.time_zone == "Asia/Tokyo"
    page = panel.get(f"/contacts/{ann.public_id}/", secure=True).content.decode()
    assert 'name="time_zone" value="Asia/Tokyo"' in page and 'list="time-zones"' in page
    assert '<option value="America/New_York">' in page


def test_the_panel_form_shows_a_bad_time_zone_at_its_field_and_changes_nothing(alice):
    ann = services.create_contact(owner=alice.user, email="ann@example.com", time_zone="Asia/Tokyo")
    data = panel_form(email="ann@example.com", first_name="Ann", time_zone="Tokyo")
    response = signed_in(alice.user).post(f"/contacts/{ann.public_id}/", data, secure=True)
    ann.refresh_from_db()
    assert response.status_code == 400
    assert 'id="id_time_zone_error"' in response.content.decode() and "is not a time zone" in response.content.decode()
    assert (ann.first_name, ann.time_zone) == ("", "Asia/Tokyo")
