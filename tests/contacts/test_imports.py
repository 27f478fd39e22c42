"""Importing contacts: bad rows skipped with their reason, the rest imported, counts right; a run stopped
between chunks or killed inside one resumes without duplicating anyone; the command; constant queries a chunk."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import Workbook

from contacts import imports, services
from contacts.models import Contact, CustomField, ImportJob
from xsender.errors import ValidationFailed
from xsender.public_ids import is_public_id

pytestmark = pytest.mark.django_db


def csv_of(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def age(alice):
    return services.create_custom_field(owner=alice.user, name="Age", type="number")


def run(owner, data: bytes, filename: str = "people.csv", **options) -> ImportJob:
    job = services.start_import(owner=owner, filename=filename, data=data, enqueue=False, **options)
    return imports.run_import(job.pk)


def test_a_bad_row_is_skipped_with_its_reason_and_the_rest_imported(alice, age):
    data = csv_of(
        "Email,First Name,Age", "ann@example.com,Ann,30", "not-an-email,Bad,1", "bo@example.com,Bo,old", ",Nobody,3",
        "cy@example.com,Cy,",
    )  # fmt: skip
    job = run(alice.user, data, mapping={"Email": "email", "First Name": "first_name", "Age": "custom.Age"})
    assert (job.status, job.rows_total, job.rows_created, job.rows_skipped) == ("done", 5, 2, 3)
    assert [r["row"] for r in job.report] == [3, 4, 5]
    assert "not a valid email" in job.report[0]["reason"] and "Age: Enter a number." in job.report[1]["reason"]
    assert list(Contact.objects.for_tenant(alice.user).order_by("email").values_list("email", "custom")) == [
        ("ann@example.com", {age.public_id: 30}),
        ("cy@example.com", {}),
    ]


def test_an_import_updates_existing_contacts_and_merges_duplicate_rows(alice):
    services.create_contact(owner=alice.user, email="ann@example.com", first_name="Ann", company="Acme")
    data = csv_of(
        "email,phone,last_name", "ANN@example.com,,Lee", "bo@example.com,+14155550123,", ",+1 415 555 0123,Bo"
    )
    job = run(alice.user, data)
    assert (job.rows_created, job.rows_updated, job.rows_skipped) == (1, 2, 0)
    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.last_name, ann.company) == ("Ann", "Lee", "Acme")
    assert Contact.objects.get(phone="+14155550123").last_name == "Bo"


def test_a_row_whose_phone_is_another_contacts_is_skipped(alice):
    services.create_contact(owner=alice.user, email="ann@example.com")
    services.create_contact(owner=alice.user, email="bo@example.com", phone="+14155550123")
    job = run(alice.user, csv_of("email,phone", "ann@example.com,+14155550123"))
    assert job.rows_skipped == 1
    assert job.report == [{"row": 2, "reason": "The phone number belongs to another contact."}]


def test_imported_contacts_join_the_list_and_get_the_tags(alice):
    friends = services.create_list(owner=alice.user, name="Friends")
    run(
        alice.user, csv_of("email", "ann@example.com", "bo@example.com"), list_id=friends.public_id, tags=["new", "csv"]
    )
    assert friends.contacts.count() == 2
    assert Contact.objects.filter(tags__name="csv").count() == 2


def test_contacts_an_import_updates_join_the_list_and_get_the_tags_too(alice):
    friends = services.create_list(owner=alice.user, name="Friends")
    services.create_contact(owner=alice.user, email="ann@example.com", first_name="Ann")
    job = run(
        alice.user, csv_of("email,first_name", "ann@example.com,Anne", "bo@example.com,Bo"),
        list_id=friends.public_id, tags=["csv"],
    )  # fmt: skip
    assert (job.rows_created, job.rows_updated) == (1, 1)
    assert set(friends.contacts.values_list("first_name", flat=True)) == {"Anne", "Bo"}
    assert Contact.objects.filter(tags__name="csv").count() == 2


def test_imported_contacts_have_distinct_public_ids_of_the_usual_shape(alice):
    run(alice.user, many(50))
    ids = list(Contact.objects.values_list("public_id", flat=True))
    assert len(set(ids)) == 50
    assert all(is_public_id(i, "contact") for i in ids)


def test_an_xlsx_file_imports_like_a_csv(alice):
    book = Workbook()
    book.active.append(["Email", "Phone"])
    book.active.append(["ann@example.com", "+1 415 555 0123"])
    out = io.BytesIO()
    book.save(out)
    job = run(alice.user, out.getvalue(), filename="people.xlsx")
    assert (job.status, job.rows_created) == ("done", 1)
    assert Contact.objects.get().phone == "+14155550123"


def test_a_bad_mapping_is_refused_naming_the_column(alice):
    with pytest.raises(ValidationFailed) as caught:
        services.start_import(
            owner=alice.user, filename="a.csv", data=csv_of("email,shoe", "a@example.com,9"),
            mapping={"email": "email", "shoe": "custom.shoe", "hat": "first_name"},
        )  # fmt: skip
    assert [e["field"] for e in caught.value.errors] == ["mapping.shoe", "mapping.hat"]


def test_a_file_without_an_email_or_phone_column_is_refused(alice):
    with pytest.raises(ValidationFailed) as caught:
        services.start_import(owner=alice.user, filename="a.csv", data=csv_of("name", "Ann"))
    assert caught.value.errors[0]["field"] == "mapping"


def test_an_import_is_queued_on_low_after_commit(alice, django_capture_on_commit_callbacks):
    import django_rq

    with django_capture_on_commit_callbacks(execute=True):
        job = services.start_import(owner=alice.user, filename="a.csv", data=csv_of("email", "a@example.com"))
    queued = django_rq.get_queue("low").jobs
    assert [(j.func_name, j.args) for j in queued] == [("contacts.jobs.import_job", (job.pk,))]


def many(count: int, start: int = 0) -> bytes:
    return csv_of("email,first_name", *(f"p{n}@example.com,P{n}" for n in range(start, start + count)))


def test_a_run_stopped_between_chunks_resumes_without_duplicates(alice, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 10)
    job = services.start_import(owner=alice.user, filename="a.csv", data=many(35), enqueue=False)
    imports.run_import(job.pk, stop_after_chunks=2)
    assert Contact.objects.count() == 20
    ImportJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    job = imports.run_import(job.pk)
    assert (job.status, job.rows_processed, job.rows_created) == ("done", 35, 35)
    assert Contact.objects.count() == 35


def test_a_run_killed_inside_a_chunk_keeps_nothing_of_it_and_resumes(alice, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 10)
    job = services.start_import(owner=alice.user, filename="a.csv", data=many(25), enqueue=False)
    real, calls = imports._checkpoint, []

    def dies_on_the_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("killed")  # not an Exception: as a killed worker, nothing marks the job
        return real(*args)

    monkeypatch.setattr(imports, "_checkpoint", dies_on_the_second)
    with pytest.raises(SystemExit):
        imports.run_import(job.pk)
    assert (Contact.objects.count(), ImportJob.objects.get().rows_processed) == (10, 10)
    monkeypatch.setattr(imports, "_checkpoint", real)
    assert imports.run_import(job.pk) is None  # its lease still runs: nobody else takes it
    ImportJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    job = imports.run_import(job.pk)
    assert (job.status, job.rows_created, Contact.objects.count()) == ("done", 25, 25)


def test_the_scheduler_sweep_wakes_an_import_whose_worker_died(alice):
    from contacts.jobs import wake_lost_imports

    job = services.start_import(owner=alice.user, filename="a.csv", data=many(3), enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(status="running", lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert wake_lost_imports() == {"imports_woken": 1}


def test_the_queries_of_a_chunk_do_not_grow_with_its_rows(alice, monkeypatch, django_assert_num_queries):
    services.create_contact(owner=alice.user, email="p0@example.com")
    friends = services.create_list(owner=alice.user, name="Friends")
    counts = []
    for size in (10, 500):
        job = services.start_import(
            owner=alice.user, filename="a.csv", data=many(size), enqueue=False, list_id=friends.public_id, tags=["t"]
        )
        token = imports._claim(job.pk)
        rows = list(imports.data_rows(job))
        plan = [(0, "email"), (1, "first_name")]
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            imports.import_chunk(job, token, rows, plan, {})
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8  # 6 statements, and the test transaction's savepoint


def test_the_command_imports_a_file_and_prints_the_report(alice, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_of("Mail,Who", "ann@example.com,Ann", "nope,X"))
    friends = services.create_list(owner=alice.user, name="Friends")
    call_command(
        "xsender:contacts:import", str(path), "--user", "alice@example.com", "--list", friends.public_id,
        "--tag", "csv", "--map", "Mail=email", "--map", "Who=first_name",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "1 created, 0 updated, 1 skipped" in out and "row 3:" in out
    assert friends.contacts.get().first_name == "Ann"


def test_the_command_refuses_a_missing_file_and_a_bad_mapping_in_one_line(alice, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("xsender:contacts:import", str(tmp_path / "none.csv"), "--user", "alice@example.com")
    path = tmp_path / "p.csv"
    path.write_bytes(csv_of("Mail", "ann@example.com"))
    with pytest.raises(CommandError, match="mapping.Mail: Unknown field 'mail'"):
        call_command("xsender:contacts:import", str(path), "--user", "alice@example.com", "--map", "Mail=mail")


def test_an_import_into_another_tenants_list_is_refused_and_touches_only_its_owner(alice, bob):
    theirs = services.create_list(owner=bob.user, name="Theirs")
    services.create_contact(owner=bob.user, email="ann@example.com", first_name="Bob's Ann")
    with pytest.raises(ValidationFailed) as caught:
        services.start_import(
            owner=alice.user, filename="a.csv", data=csv_of("email", "x@example.com"), list_id=theirs.public_id
        )
    assert caught.value.errors[0]["field"] == "lists"
    job = run(alice.user, csv_of("email,first_name", "ann@example.com,Alice's Ann"))
    assert job.rows_created == 1
    assert Contact.objects.get(owner=bob.user).first_name == "Bob's Ann"


# ---------------------------------------------------------------- the run's threads: parsing ahead, two connections

MIXED = csv_of(
    "email,phone,first_name,Age",
    "ann@example.com,,Ann,30",  # an existing contact: updated
    "p1@example.com,+14155550101,P1,1",
    "not-an-email,,Bad,2",  # skipped
    "p2@example.com,,P2,old",  # skipped: Age
    "p1@example.com,,Pee One,",  # a contact of the chunk before: updated
    "p3@example.com,+14155550103,P3,3",
    "p4@example.com,+14155550104,P4,4",
    "p1@example.com,,P1 again,11",  # the same chunk's row above: merged into it
    "ann@example.com,+14155550104,,",  # ann's email, p4's phone: skipped
    "p5@example.com,,P5,5",
    " , ,,",  # blank: neither imported nor counted
    "bo@example.com,,Bo,",  # an existing contact: updated
    ",+14155550103,Three,",  # p3's phone, two chunks later: updated
    *(f"q{n}@example.com,,Q{n},{n}" for n in range(20)),
)


def _audience(owner) -> list[tuple]:
    """What a tenant sees of its contacts: fields, custom values by field name, lists and tags by name."""
    names = {f.public_id: f.name for f in CustomField.objects.for_tenant(owner)}
    return sorted(
        (
            c.email, c.phone, c.first_name, sorted((names[k], v) for k, v in c.custom.items()),
            sorted(c.lists.values_list("name", flat=True)), sorted(c.tags.values_list("name", flat=True)),
        )
        for c in Contact.objects.for_tenant(owner)
    )  # fmt: skip


def _import_mixed(owner, **options) -> ImportJob:
    services.create_custom_field(owner=owner, name="Age", type="number")
    services.create_contact(owner=owner, email="ann@example.com", first_name="Annie")
    services.create_contact(owner=owner, email="bo@example.com", tags=["old"])
    target = services.create_list(owner=owner, name="Imported")
    job = services.start_import(
        owner=owner, filename="a.csv", data=MIXED, list_id=target.public_id, tags=["csv"], enqueue=False
    )
    return imports.run_import(job.pk, **options)


def _result(job: ImportJob) -> tuple:
    return job.status, job.rows_processed, job.rows_created, job.rows_updated, job.rows_skipped, job.report


def test_parsing_ahead_gives_the_same_contacts_and_report_as_one_step_after_the_other(alice, bob, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 4)
    ahead = _import_mixed(alice.user)
    one_by_one = _import_mixed(bob.user, read_ahead=False)
    assert _result(ahead) == _result(one_by_one)
    assert _result(ahead)[:5] == ("done", 32, 24, 5, 3)
    assert _audience(alice.user) == _audience(bob.user)
    assert ("p1@example.com", "+14155550101", "P1 again", [("Age", 11)], ["Imported"], ["csv"]) in _audience(alice.user)


@pytest.mark.django_db(transaction=True)
def test_two_connections_give_the_same_contacts_and_report_as_one(alice, bob, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 4)
    lanes = _import_mixed(alice.user)  # outside a transaction: chunks written on two connections at once
    one = _import_mixed(bob.user, read_ahead=False, lanes=False)
    assert _result(lanes) == _result(one)
    assert _audience(alice.user) == _audience(bob.user)
    assert Contact.objects.for_tenant(alice.user).count() == 26


@pytest.mark.django_db(transaction=True)
def test_a_run_on_two_connections_killed_in_a_chunk_keeps_the_chunks_before_it_and_resumes(alice, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 10)
    job = services.start_import(owner=alice.user, filename="a.csv", data=many(55), enqueue=False)
    real, calls = imports._checkpoint, []

    def dies_on_the_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise SystemExit("killed")
        return real(*args)

    monkeypatch.setattr(imports, "_checkpoint", dies_on_the_third)
    with pytest.raises(SystemExit):
        imports.run_import(job.pk)
    # the fourth chunk, written meanwhile on the other connection, waited for the third's commit: rolled back too
    assert (Contact.objects.count(), ImportJob.objects.get().rows_processed) == (20, 20)
    monkeypatch.setattr(imports, "_checkpoint", real)
    ImportJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    job = imports.run_import(job.pk)
    assert (job.status, job.rows_processed, job.rows_created, Contact.objects.count()) == ("done", 55, 55, 55)
    assert sorted(Contact.objects.values_list("email", flat=True)) == sorted(f"p{n}@example.com" for n in range(55))


@pytest.mark.django_db(transaction=True)
def test_a_run_on_two_connections_stopped_between_chunks_resumes_without_duplicates(alice, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 10)
    job = services.start_import(owner=alice.user, filename="a.csv", data=many(35), enqueue=False)
    imports.run_import(job.pk, stop_after_chunks=3)
    assert (Contact.objects.count(), ImportJob.objects.get().rows_processed) == (30, 30)
    ImportJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    job = imports.run_import(job.pk)
    assert (job.status, job.rows_processed, job.rows_created, Contact.objects.count()) == ("done", 35, 35, 35)


@pytest.mark.django_db(transaction=True)
def test_a_run_on_two_connections_that_lost_its_claim_stops_without_writing_more(alice, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 10)
    job = services.start_import(owner=alice.user, filename="a.csv", data=many(45), enqueue=False)
    real, calls = imports._checkpoint, []

    def another_run_takes_it_at_the_second(job, *args):
        calls.append(1)
        if len(calls) == 2:
            ImportJob.objects.filter(pk=job.pk).update(claim_token=None)  # as a run that found the lease ended
        return real(job, *args)

    monkeypatch.setattr(imports, "_checkpoint", another_run_takes_it_at_the_second)
    imports.run_import(job.pk)
    assert (Contact.objects.count(), ImportJob.objects.get().rows_processed) == (10, 10)
