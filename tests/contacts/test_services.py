"""Changing the audience through contacts.services: duplicates, identify, typed custom fields, bulk memberships,
the suppression list, and tenants kept apart."""

from __future__ import annotations

import pytest

from contacts import services
from contacts.models import Contact, ContactList, CustomField, Tag
from messaging.models import Suppression
from xsender.errors import Conflict, ValidationFailed
from xsender.public_ids import is_public_id

pytestmark = pytest.mark.django_db


def fields_of(exc: ValidationFailed) -> list[str]:
    return [error["field"] for error in exc.errors]


@pytest.fixture
def plan_field(alice) -> CustomField:
    return services.create_custom_field(owner=alice.user, name="Plan", type="choice", choices=["free", "pro"])


# ---------------------------------------------------------------- contacts


def test_a_new_contact_has_a_public_id_and_addresses_in_send_form(alice):
    contact = services.create_contact(owner=alice.user, email=" Ann@Bücher.Example ", phone="+1 415 555 0123")
    assert is_public_id(contact.public_id, "contact")
    assert (contact.email, contact.phone) == ("ann@xn--bcher-kva.example", "+14155550123")


def test_a_second_contact_with_the_same_email_is_a_conflict_naming_email(alice):
    services.create_contact(owner=alice.user, email="ann@example.com")
    with pytest.raises(Conflict) as caught:
        services.create_contact(owner=alice.user, email="ANN@example.com", first_name="Other")
    assert caught.value.field == "email"
    assert Contact.objects.for_tenant(alice.user).count() == 1


def test_a_second_contact_with_the_same_phone_is_a_conflict_naming_phone(alice):
    services.create_contact(owner=alice.user, phone="+14155550123")
    with pytest.raises(Conflict) as caught:
        services.create_contact(owner=alice.user, phone="+1 (415) 555-0123", email="b@example.com")
    assert caught.value.field == "phone"


def test_changing_a_contact_to_another_contacts_email_is_a_conflict(alice):
    services.create_contact(owner=alice.user, email="ann@example.com")
    bea = services.create_contact(owner=alice.user, email="bea@example.com")
    with pytest.raises(Conflict):
        services.update_contact(contact=bea, email="ann@example.com")
    bea.refresh_from_db()
    assert bea.email == "bea@example.com"


def test_two_tenants_may_each_have_a_contact_with_one_email(alice, bob):
    services.create_contact(owner=alice.user, email="ann@example.com")
    services.create_contact(owner=bob.user, email="ann@example.com")
    assert Contact.objects.filter(email="ann@example.com").count() == 2


def test_a_contact_needs_an_email_or_a_phone(alice):
    with pytest.raises(ValidationFailed) as caught:
        services.create_contact(owner=alice.user, first_name="Nobody")
    assert fields_of(caught.value) == ["email"]


@pytest.mark.parametrize(("field", "value"), [("email", "not-an-email"), ("phone", "12"), ("email_status", "gone")])
def test_a_bad_value_is_refused_naming_its_field(alice, field, value):
    with pytest.raises(ValidationFailed) as caught:
        services.create_contact(owner=alice.user, **{"email": "ann@example.com", field: value})
    assert fields_of(caught.value) == [field]
    assert not Contact.objects.exists()


# ---------------------------------------------------------------- identify


def test_identify_creates_a_contact_the_first_time(alice):
    contact, created = services.identify_contact(owner=alice.user, email="ann@example.com", tags=["vip"])
    assert created
    assert [t.name for t in contact.tags.all()] == ["vip"]


def test_identify_merges_into_the_contact_with_that_email(alice, plan_field):
    services.create_contact(owner=alice.user, email="ann@example.com", first_name="Ann", last_name="Lee")
    contact, created = services.identify_contact(
        owner=alice.user, email="Ann@Example.com", first_name="Annie", last_name="", custom={"Plan": "pro"}
    )
    contact.refresh_from_db()
    assert not created
    assert (contact.first_name, contact.last_name, contact.custom) == ("Annie", "Lee", {plan_field.public_id: "pro"})
    assert Contact.objects.count() == 1


def test_identify_finds_a_contact_by_phone_and_adds_its_email(alice):
    known = services.create_contact(owner=alice.user, phone="+14155550123")
    contact, created = services.identify_contact(owner=alice.user, email="ann@example.com", phone="+14155550123")
    assert (contact.pk, created, contact.email) == (known.pk, False, "ann@example.com")


def test_identify_with_an_email_and_another_contacts_phone_is_a_conflict_naming_phone(alice):
    services.create_contact(owner=alice.user, email="ann@example.com")
    services.create_contact(owner=alice.user, phone="+14155550123")
    with pytest.raises(Conflict) as caught:
        services.identify_contact(owner=alice.user, email="ann@example.com", phone="+14155550123")
    assert caught.value.field == "phone"


def test_identify_never_merges_into_another_tenants_contact(alice, bob):
    theirs = services.create_contact(owner=alice.user, email="ann@example.com", first_name="Ann")
    _, created = services.identify_contact(owner=bob.user, email="ann@example.com", first_name="Mallory")
    theirs.refresh_from_db()
    assert created
    assert theirs.first_name == "Ann"


# ---------------------------------------------------------------- custom fields


def test_custom_values_are_stored_typed_and_keyed_by_the_fields_public_id(alice):
    fields = {
        kind: services.create_custom_field(owner=alice.user, name=kind.title(), type=kind)
        for kind in ("number", "date", "boolean", "text")
    }
    values = {"Number": "42.50", "Date": "2024-01-15", "Boolean": "yes", fields["text"].public_id: "Engineering"}
    contact = services.create_contact(owner=alice.user, email="ann@example.com", custom=values)
    contact.refresh_from_db()
    assert contact.custom == {
        fields["number"].public_id: 42.5, fields["date"].public_id: "2024-01-15",
        fields["boolean"].public_id: True, fields["text"].public_id: "Engineering",
    }  # fmt: skip


def test_bad_custom_values_name_every_bad_field_and_change_nothing(alice, plan_field):
    services.create_custom_field(owner=alice.user, name="Age", type="number")
    services.create_custom_field(owner=alice.user, name="Birthday", type="date")
    contact = services.create_contact(owner=alice.user, email="ann@example.com", custom={"Plan": "free"})
    bad = {"Age": "old", "Birthday": "15/01/2024", "Plan": "gold", "Shoe size": "42"}
    with pytest.raises(ValidationFailed) as caught:
        services.update_contact(contact=contact, first_name="Changed", custom=bad)
    contact.refresh_from_db()
    assert sorted(fields_of(caught.value)) == ["custom.Age", "custom.Birthday", "custom.Plan", "custom.Shoe size"]
    assert (contact.first_name, contact.custom) == ("", {plan_field.public_id: "free"})


def test_a_custom_value_set_to_none_is_removed_and_the_others_stay(alice, plan_field):
    age = services.create_custom_field(owner=alice.user, name="Age", type="number")
    contact = services.create_contact(owner=alice.user, email="a@example.com", custom={"Plan": "pro", "Age": 30})
    services.update_contact(contact=contact, custom={"Plan": None})
    contact.refresh_from_db()
    assert contact.custom == {age.public_id: 30}


def test_another_tenants_custom_field_is_unknown(alice, bob, plan_field):
    with pytest.raises(ValidationFailed) as caught:
        services.create_contact(owner=bob.user, email="b@example.com", custom={plan_field.public_id: "pro"})
    assert fields_of(caught.value) == [f"custom.{plan_field.public_id}"]


def test_a_choice_field_needs_choices_and_other_types_take_none(alice):
    with pytest.raises(ValidationFailed) as no_choices:
        services.create_custom_field(owner=alice.user, name="Tier", type="choice")
    with pytest.raises(ValidationFailed) as stray:
        services.create_custom_field(owner=alice.user, name="Age", type="number", choices=["1"])
    assert fields_of(no_choices.value) == fields_of(stray.value) == ["choices"]
    assert not CustomField.objects.exists()


def test_a_custom_field_name_is_unique_per_tenant(alice, bob, plan_field):
    with pytest.raises(Conflict) as caught:
        services.create_custom_field(owner=alice.user, name="Plan", type="text")
    services.create_custom_field(owner=bob.user, name="Plan", type="text")
    assert caught.value.field == "name"


def test_removing_a_choice_a_contact_holds_is_a_conflict(alice, plan_field):
    services.create_contact(owner=alice.user, email="a@example.com", custom={"Plan": "pro"})
    with pytest.raises(Conflict):
        services.update_custom_field(field=plan_field, choices=["free"])
    services.update_custom_field(field=plan_field, choices=["pro", "enterprise"])
    plan_field.refresh_from_db()
    assert plan_field.choices == ["pro", "enterprise"]


def test_deleting_a_custom_field_removes_its_values_from_contacts(alice, plan_field):
    age = services.create_custom_field(owner=alice.user, name="Age", type="number")
    contact = services.create_contact(owner=alice.user, email="a@example.com", custom={"Plan": "pro", "Age": 3})
    services.delete_custom_field(field=plan_field)
    contact.refresh_from_db()
    assert contact.custom == {age.public_id: 3}


# ---------------------------------------------------------------- lists and tags, for many contacts at once


def make_contacts(owner, count: int, start: int = 0) -> list[str]:
    return [
        services.create_contact(owner=owner, email=f"c{n}@example.com").public_id for n in range(start, start + count)
    ]


def test_adding_many_contacts_to_lists_costs_two_statements(alice, django_assert_num_queries):
    ids = make_contacts(alice.user, 30)
    lists = [services.create_list(owner=alice.user, name=name).public_id for name in ("news", "vip")]
    with django_assert_num_queries(2):
        added = services.add_to_lists(owner=alice.user, contact_ids=ids, list_ids=lists)
    assert added == 60
    assert ContactList.objects.get(name="news").contacts.count() == 30


def test_adding_contacts_again_to_a_list_keeps_one_membership(alice):
    ids = make_contacts(alice.user, 3)
    news = services.create_list(owner=alice.user, name="news").public_id
    services.add_to_lists(owner=alice.user, contact_ids=ids[:2], list_ids=[news])
    assert services.add_to_lists(owner=alice.user, contact_ids=ids, list_ids=[news]) == 1
    assert ContactList.objects.get(name="news").contacts.count() == 3


def test_removing_many_contacts_from_a_list_costs_one_statement(alice, django_assert_num_queries):
    ids = make_contacts(alice.user, 10)
    news = services.create_list(owner=alice.user, name="news").public_id
    services.add_to_lists(owner=alice.user, contact_ids=ids, list_ids=[news])
    with django_assert_num_queries(1):
        removed = services.remove_from_lists(owner=alice.user, contact_ids=ids[:7], list_ids=[news])
    assert removed == 7
    assert ContactList.objects.get(name="news").contacts.count() == 3


def test_tagging_many_contacts_creates_new_tags_in_three_statements(alice, django_assert_num_queries):
    ids = make_contacts(alice.user, 25)
    old = services.get_or_create_tag(owner=alice.user, name="old")
    with django_assert_num_queries(3):
        services.add_tags(owner=alice.user, contact_ids=ids, tags=["new", "newer", old.public_id])
    assert sorted(Tag.objects.for_tenant(alice.user).values_list("name", flat=True)) == ["new", "newer", "old"]
    assert Contact.objects.filter(tags__name="newer").count() == 25


def test_untagging_many_contacts_costs_one_statement(alice, django_assert_num_queries):
    ids = make_contacts(alice.user, 5)
    services.add_tags(owner=alice.user, contact_ids=ids, tags=["vip"])
    with django_assert_num_queries(1):
        services.remove_tags(owner=alice.user, contact_ids=ids[:4], tags=["vip"])
    assert Contact.objects.filter(tags__name="vip").count() == 1


def test_an_unknown_list_is_refused_and_nothing_is_added(alice):
    ids = make_contacts(alice.user, 2)
    news = services.create_list(owner=alice.user, name="news").public_id
    with pytest.raises(ValidationFailed) as caught:
        services.add_to_lists(owner=alice.user, contact_ids=ids, list_ids=[news, "list_AAAAAAAAAAAAAAAAAAAAAA"])
    assert fields_of(caught.value) == ["lists"]
    assert not Contact.lists.through.objects.exists()


def test_a_list_name_is_unique_per_tenant(alice, bob):
    services.create_list(owner=alice.user, name="news")
    with pytest.raises(Conflict) as caught:
        services.create_list(owner=alice.user, name=" news ")
    services.create_list(owner=bob.user, name="news")
    assert caught.value.field == "name"


def test_deleting_a_list_keeps_its_contacts(alice):
    ids = make_contacts(alice.user, 2)
    news = services.create_list(owner=alice.user, name="news")
    services.add_to_lists(owner=alice.user, contact_ids=ids, list_ids=[news.public_id])
    services.delete_list(contact_list=news)
    assert Contact.objects.for_tenant(alice.user).count() == 2


def test_bob_cannot_put_alices_contacts_in_his_list(alice, bob):
    ids = make_contacts(alice.user, 2)
    his = services.create_list(owner=bob.user, name="news").public_id
    assert services.add_to_lists(owner=bob.user, contact_ids=ids, list_ids=[his]) == 0
    assert not Contact.lists.through.objects.exists()


def test_bob_cannot_use_alices_list_or_tag(alice, bob):
    ids = make_contacts(bob.user, 1)
    hers = services.create_list(owner=alice.user, name="news").public_id
    tag = services.get_or_create_tag(owner=alice.user, name="vip").public_id
    with pytest.raises(ValidationFailed):
        services.add_to_lists(owner=bob.user, contact_ids=ids, list_ids=[hers])
    with pytest.raises(ValidationFailed):
        services.add_tags(owner=bob.user, contact_ids=ids, tags=[tag])
    assert not Contact.lists.through.objects.exists() and not Contact.tags.through.objects.exists()


def test_bob_cannot_untag_alices_contacts(alice, bob):
    ids = make_contacts(alice.user, 2)
    services.add_tags(owner=alice.user, contact_ids=ids, tags=["vip"])
    services.get_or_create_tag(owner=bob.user, name="vip")
    assert services.remove_tags(owner=bob.user, contact_ids=ids, tags=["vip"]) == 0
    assert Contact.objects.filter(tags__name="vip").count() == 2


# ---------------------------------------------------------------- the suppression list


def suppressions(user) -> set[tuple[str, str, str]]:
    return set(Suppression.objects.filter(user=user).values_list("channel", "address", "reason"))


def test_unsubscribing_a_contact_suppresses_its_email(alice):
    contact = services.create_contact(owner=alice.user, email="ann@example.com", phone="+14155550123")
    services.update_contact(contact=contact, email_status="unsubscribed")
    assert suppressions(alice.user) == {("email", "ann@example.com", "opt_out")}


def test_a_bounced_sms_and_a_complaint_are_suppressed_with_their_reasons(alice):
    services.create_contact(
        owner=alice.user, email="ann@example.com", phone="+14155550123", sms_status="bounced",
        email_status="complained", whatsapp_status="blocked",
    )  # fmt: skip
    assert suppressions(alice.user) == {
        ("sms", "+14155550123", "bounce"), ("email", "ann@example.com", "complaint"),
        ("whatsapp", "+14155550123", "manual"),
    }  # fmt: skip


def test_a_suppressed_contact_cannot_be_resubscribed_until_the_suppression_is_lifted(alice):
    contact = services.create_contact(owner=alice.user, email="ann@example.com", email_status="bounced")
    with pytest.raises(Conflict) as caught:
        services.update_contact(contact=contact, email_status="subscribed")
    Suppression.objects.filter(user=alice.user).delete()
    services.update_contact(contact=contact, email_status="subscribed")
    assert caught.value.field == "email_status"


def test_unsubscribing_in_one_tenant_leaves_the_other_tenants_contact_alone(alice, bob):
    services.create_contact(owner=alice.user, email="ann@example.com", email_status="unsubscribed")
    services.create_contact(owner=bob.user, email="ann@example.com")
    assert suppressions(bob.user) == set()
