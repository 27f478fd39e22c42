"""Segments' rules: their shape, their validation (check_rules) and their SQL (segment_q).

A segment is a list of rules joined by `match` ("all": AND, "any": OR); no rule matches every contact. A rule is
a JSON object with a `field`, an `op` and usually a `value`:

| field | ops | value |
|---|---|---|
| `email`, `phone`, `first_name`, `last_name`, `company` | `equals`, `contains`, `starts_with`, `is_empty`, `is_not_empty` | text |
| `custom.<field id or name>` | text, phone: as above; number, date: `equals`, `less_than`, `greater_than`; boolean, choice: `equals`; every type: `is_empty`, `is_not_empty` | typed as the field |
| `tag` | `has`, `has_not` | a tag's name or public id |
| `list` | `in`, `not_in` | a list's public id |
| `status` (+ `channel`: email, sms, whatsapp) | `equals`, `not_equals` | a contact status (the effective one: the suppression list counts) |
| `activity` (+ `days`: 1–3650) | `opened`, `clicked`, `bounced` | — : a message of the tenant to the contact's email or phone did so in the last `days` days |

check_rules stores every reference by public id (a renamed tag or field keeps its segments). A rule naming a tag
or list deleted since matches nobody (`has_not` / `not_in`: everybody).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from contacts import values
from contacts.models import STATUS_FIELDS, STATUS_SUPPRESSION, Contact, ContactList, ContactStatus, CustomField, Tag
from messaging.models import Message, Status, Suppression
from messaging.validation import normalise_number
from xsender.errors import FieldError, ValidationFailed

MAX_RULES = 50
MAX_DAYS = 3650
TEXT_FIELDS = ("email", "phone", "first_name", "last_name", "company")
TEXT_OPS = ("equals", "contains", "starts_with", "is_empty", "is_not_empty")
EMPTY_OPS = ("is_empty", "is_not_empty")
CUSTOM_OPS = {
    CustomField.Type.TEXT: TEXT_OPS,
    CustomField.Type.PHONE: TEXT_OPS,
    CustomField.Type.NUMBER: ("equals", "less_than", "greater_than", *EMPTY_OPS),
    CustomField.Type.DATE: ("equals", "less_than", "greater_than", *EMPTY_OPS),
    CustomField.Type.BOOLEAN: ("equals", *EMPTY_OPS),
    CustomField.Type.CHOICE: ("equals", *EMPTY_OPS),
}
ACTIVITY_OPS = ("opened", "clicked", "bounced")


class _Refs:
    """The tenant's custom fields, tags and lists, read once for all the rules (three queries at most)."""

    def __init__(self, owner: User, rules: list[Any]) -> None:
        named = {str(r.get("field", "")) for r in rules if isinstance(r, dict)}
        wanted = {str(r.get("value", "")) for r in rules if isinstance(r, dict)}
        fields = list(CustomField.objects.for_tenant(owner)) if any(f.startswith("custom.") for f in named) else []
        self.fields = {f.public_id: f for f in fields} | {f.name: f for f in fields}
        self.tags: dict[str, str] = {}
        if "tag" in named:
            for public_id, name in (
                Tag.objects.for_tenant(owner)
                .filter(Q(public_id__in=wanted) | Q(name__in={w.strip() for w in wanted}))
                .values_list("public_id", "name")
            ):
                self.tags[public_id] = self.tags[name] = public_id
        self.lists = set()
        if "list" in named:
            self.lists = set(
                ContactList.objects.for_tenant(owner).filter(public_id__in=wanted).values_list("public_id", flat=True)
            )


def _error(errors: list[FieldError], index: int, key: str, message: str) -> None:
    errors.append({"field": f"rules.{index}.{key}", "message": message})


def _op(rule: dict[str, Any], allowed: tuple[str, ...]) -> str:
    op = rule.get("op")
    if op not in allowed:
        raise _Bad("op", f"Use one of {', '.join(allowed)}.")
    return op


class _Bad(Exception):
    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message


def _text_rule(rule: dict[str, Any], field: str) -> dict[str, Any]:
    op = _op(rule, TEXT_OPS)
    if op in EMPTY_OPS:
        return {"field": field, "op": op}
    value = rule.get("value")
    if not isinstance(value, str) or not value.strip() or len(value) > values.NAME_LIMIT:
        raise _Bad("value", f"Enter 1 to {values.NAME_LIMIT} characters.")
    return {"field": field, "op": op, "value": value.strip()}


def _custom_rule(rule: dict[str, Any], refs: _Refs) -> dict[str, Any]:
    key = str(rule["field"]).removeprefix("custom.")
    field = refs.fields.get(key)
    if field is None:
        raise _Bad("field", f"Unknown custom field {key!r}.")
    op = _op(rule, CUSTOM_OPS[CustomField.Type(field.type)])
    clean: dict[str, Any] = {"field": f"custom.{field.public_id}", "op": op}
    if op in EMPTY_OPS:
        return clean
    if op in ("contains", "starts_with"):
        return {**clean, "value": _text_rule(rule, clean["field"])["value"]}
    try:
        clean["value"] = values.typed_value(field, rule.get("value"))
    except ValueError:
        raise _Bad("value", values.value_error(field)) from None
    return clean


def _reference_rule(rule: dict[str, Any], known: Callable[[str], str | None], ops: tuple[str, ...]) -> dict[str, Any]:
    op = _op(rule, ops)
    found = known(str(rule.get("value", "")).strip())
    if found is None:
        raise _Bad("value", f"Unknown {rule['field']} {rule.get('value')!r}.")
    return {"field": rule["field"], "op": op, "value": found}


def _status_rule(rule: dict[str, Any]) -> dict[str, Any]:
    if rule.get("channel") not in STATUS_FIELDS:
        raise _Bad("channel", f"Use one of {', '.join(STATUS_FIELDS)}.")
    op = _op(rule, ("equals", "not_equals"))
    if rule.get("value") not in ContactStatus.values:
        raise _Bad("value", f"Use one of {', '.join(ContactStatus.values)}.")
    return {"field": "status", "channel": rule["channel"], "op": op, "value": rule["value"]}


def _activity_rule(rule: dict[str, Any]) -> dict[str, Any]:
    op = _op(rule, ACTIVITY_OPS)
    days = rule.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise _Bad("days", f"Enter a whole number of days from 1 to {MAX_DAYS}.")
    return {"field": "activity", "op": op, "days": days}


def _one_rule(rule: Any, refs: _Refs) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise _Bad("field", "Each rule is an object with a field and an op.")
    field = str(rule.get("field", ""))
    if field in TEXT_FIELDS:
        return _text_rule(rule, field)
    if field.startswith("custom."):
        return _custom_rule(rule, refs)
    if field == "tag":
        return _reference_rule(rule, refs.tags.get, ("has", "has_not"))
    if field == "list":
        return _reference_rule(rule, lambda v: v if v in refs.lists else None, ("in", "not_in"))
    if field == "status":
        return _status_rule(rule)
    if field == "activity":
        return _activity_rule(rule)
    raise _Bad("field", f"Unknown field {field!r}.")


def check_rules(*, owner: User, rules: Any, match: str = "all") -> list[dict[str, Any]]:
    """`rules` validated and normalised (tags, lists and custom fields by public id). Raises ValidationFailed
    naming every bad rule's key as `rules.N.<key>` (or `rules`, `match`). Three queries at most."""
    if match not in ("all", "any"):
        raise ValidationFailed.single("match", "Use all or any.")
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise ValidationFailed.single("rules", f"Give a list of at most {MAX_RULES} rules.")
    refs = _Refs(owner, rules)
    clean, errors = [], []
    for index, rule in enumerate(rules):
        try:
            clean.append(_one_rule(rule, refs))
        except _Bad as bad:
            _error(errors, index, bad.key, bad.message)
    if errors:
        raise ValidationFailed(errors, message=f"{errors[0]['field']}: {errors[0]['message']}")
    return clean


# ---------------------------------------------------------------- SQL


TEXT_LOOKUPS = {"equals": "exact", "contains": "contains", "starts_with": "startswith"}
NAME_LOOKUPS = {"equals": "iexact", "contains": "icontains", "starts_with": "istartswith"}


def _text_q(field: str, op: str, value: str = "") -> Q:
    if op == "is_empty":
        return Q(**{field: ""})
    if op == "is_not_empty":
        return ~Q(**{field: ""})
    if field == "email":  # stored in lower case: the case-sensitive lookups read the prefix index
        return Q(**{f"email__{TEXT_LOOKUPS[op]}": value.lower()})
    if field == "phone":  # stored in E.164
        number = normalise_number(value) if op == "equals" else None
        return Q(**{f"phone__{TEXT_LOOKUPS[op]}": number or value})
    return Q(**{f"{field}__{NAME_LOOKUPS[op]}": value})


def _custom_q(key: str, op: str, value: Any = None) -> Q:
    if op == "is_empty":
        return ~Q(custom__has_key=key)
    if op == "is_not_empty":
        return Q(custom__has_key=key)
    if op == "equals":
        return Q(custom__contains={key: value})  # jsonb @>: the GIN index (contact_custom_values)
    # jsonb against jsonb: numbers compare as numbers, dates (YYYY-MM-DD strings) in calendar order.
    lookup = {"less_than": "lt", "greater_than": "gt", "contains": "icontains", "starts_with": "istartswith"}[op]
    return Q(**{f"custom__{key}__{lookup}": value})


def _status_q(owner_id: int, channel: str, op: str, status: str) -> Q:
    """The effective status (contacts.selectors.with_statuses) as a condition: the suppression list's reason
    for the address when it has one, else the stored status."""
    address = "email" if channel == "email" else "phone"
    listed = Suppression.objects.filter(
        Q(user_id=owner_id) | Q(user__isnull=True), channel=channel, address=OuterRef(address)
    )
    stored = Q(**{STATUS_FIELDS[channel]: status}) & ~Exists(listed)
    equals = (
        stored
        if status == ContactStatus.SUBSCRIBED
        else stored | Exists(listed.filter(reason=STATUS_SUPPRESSION[status]))
    )
    return equals if op == "equals" else ~equals


def _activity_q(owner_id: int, op: str, days: int) -> Q:
    """Contacts whose email or phone is the recipient of a message of the tenant that was opened (or clicked),
    clicked, or bounced since `days` days ago. Each side is `IN (SELECT recipient …)`: PostgreSQL hashes the
    tenant's matching recipients once instead of probing messages per contact."""
    since = timezone.now() - timedelta(days=days)
    messages = Message.objects.filter(user_id=owner_id)
    if op == "opened":
        messages = messages.filter(Q(opened_at__gte=since) | Q(clicked_at__gte=since))
    elif op == "clicked":
        messages = messages.filter(clicked_at__gte=since)
    else:
        messages = messages.filter(status=Status.BOUNCED, failed_at__gte=since)
    recipients = messages.values("recipient")
    return (~Q(email="") & Q(email__in=recipients)) | (~Q(phone="") & Q(phone__in=recipients))


def memberships(owner_id: int, rule: dict[str, Any]) -> QuerySet[Any]:
    """The memberships of a tag or list rule's tag (list): one row per contact that has it, and only the owner's
    contacts (services and imports link a tenant's contacts to its own tags and lists only). The tag's (list's) id
    is a scalar subquery, which PostgreSQL runs once before the rest (an InitPlan), so it is an index condition on
    the memberships' (tag_id, contact_id) — (contactlist_id, contact_id) — index; none when it was deleted."""
    if rule["field"] == "tag":
        through, column, targets = Contact.tags.through.objects, "tag_id", Tag.objects
    else:
        through, column, targets = Contact.lists.through.objects, "contactlist_id", ContactList.objects
    target = targets.filter(owner_id=owner_id, public_id=rule["value"]).order_by().values("pk")  # one row at most
    return through.filter(**{column: Subquery(target)})


def _reference_q(owner_id: int, rule: dict[str, Any]) -> Q:
    """`EXISTS` of the contact's membership: a semi-join (anti-join for has_not / not_in) that PostgreSQL may run
    from either side — walking the tag's members by id when that reads less than the tenant's contacts."""
    held = Exists(memberships(owner_id, rule).filter(contact_id=OuterRef("pk")))
    return Q(held) if rule["op"] in ("has", "in") else ~Q(held)


def members_only(rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The rule when `rules` is one tag `has` or list `in` rule: its contacts are its memberships (counted from the
    memberships' index alone); else None."""
    if len(rules) == 1 and rules[0]["field"] in ("tag", "list") and rules[0]["op"] in ("has", "in"):
        return rules[0]
    return None


def rule_q(owner_id: int, rule: dict[str, Any]) -> Q:
    """One checked rule (check_rules) as a condition on Contact."""
    field = rule["field"]
    if field in TEXT_FIELDS:
        return _text_q(field, rule["op"], rule.get("value", ""))
    if field.startswith("custom."):
        return _custom_q(field.removeprefix("custom."), rule["op"], rule.get("value"))
    if field in ("tag", "list"):
        return _reference_q(owner_id, rule)
    if field == "status":
        return _status_q(owner_id, rule["channel"], rule["op"], rule["value"])
    return _activity_q(owner_id, rule["op"], rule["days"])


def segment_q(owner_id: int, rules: list[dict[str, Any]], match: str = "all") -> Q:
    """Checked rules as one condition (no rule: every contact)."""
    combined = Q()
    for rule in rules:
        combined = combined & rule_q(owner_id, rule) if match == "all" else combined | rule_q(owner_id, rule)
    return combined
