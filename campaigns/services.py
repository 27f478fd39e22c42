"""Every state change of templates (create, update, delete) and their rendering for a contact or a preview;
of campaigns (create, update, schedule, start, pause, resume, cancel: docs/campaigns.md). Senders' services live in
campaigns.senders and are re-exported here (add_sender, resend_confirmation, confirm_sender, remove_sender).

Each field's placeholders are checked on save (campaigns.rendering), so rendering a saved template never
fails. Errors are ValidationFailed naming the field (`subject`, `whatsapp_template.components.0.text` …).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import idna
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import CHANNELS, User
from campaigns import fanout, jobs
from campaigns.content import Rendered, render_template
from campaigns.local_time import starts_at
from campaigns.models import Campaign, CampaignRecipient, CampaignStatus, Sender, Template
from campaigns.rendering import PlaceholderError, check_source
from campaigns.senders import add_sender as add_sender  # re-exported, as the other senders' services below
from campaigns.senders import confirm_sender as confirm_sender
from campaigns.senders import owned_sender
from campaigns.senders import remove_sender as remove_sender
from campaigns.senders import resend_confirmation as resend_confirmation
from contacts.models import ContactList, Segment, Tag
from gateways.backends import get_backend_class
from gateways.selectors import default_gateway, gateways_by_identifier, usable_gateways
from messaging.models import Message, Status
from messaging.services import cancel_messages, check_plan
from messaging.validation import HEADER_BREAKS, LIMITS, normalise_email
from xsender.errors import Conflict, FieldError, GatewayNotFound, ValidationFailed
from xsender.public_ids import is_public_id

# Which content fields each channel uses; any other content field must stay empty.
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "html", "text", "from_name", "reply_to"),
    "sms": ("body",),
    "whatsapp": ("body", "whatsapp_template"),
}
CONTENT_FIELDS = ("subject", "html", "text", "from_name", "reply_to", "body", "whatsapp_template")
EDITABLE = ("name", *CONTENT_FIELDS)
HEADER_FIELDS = ("name", "subject", "from_name", "reply_to")
TEMPLATED = ("subject", "html", "text", "body")  # the string fields that hold placeholders
MAX_LENGTH = {
    "name": 200,
    "subject": LIMITS["subject"],
    "html": LIMITS["email_body"],
    "text": LIMITS["email_body"],
    "from_name": LIMITS["sender_name"],
    "reply_to": 254,
    "body": LIMITS["wa_body"],  # SMS bodies too: a long SMS is split, and the send path checks its own limit
}
MAX_WHATSAPP_TEMPLATE = 64_000  # characters of its JSON form
# Meta's rules: template names are lower case, digits and underscores; languages are codes such as en or en_US.
WHATSAPP_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
WHATSAPP_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")


def _text_errors(name: str, value: Any) -> list[FieldError]:
    if not isinstance(value, str):
        return [{"field": name, "message": "Must be text."}]
    if len(value) > MAX_LENGTH[name]:
        return [{"field": name, "message": f"At most {MAX_LENGTH[name]} characters."}]
    if name in HEADER_FIELDS and any(c in value for c in HEADER_BREAKS):  # NUL included
        return [{"field": name, "message": "Line breaks are not allowed here."}]
    return _source_errors(name, value) if name in TEMPLATED else []


def _source_errors(name: str, source: str) -> list[FieldError]:
    if "\x00" in source:
        return [{"field": name, "message": "NUL characters are not allowed."}]
    try:
        check_source(source)
    except PlaceholderError as exc:
        return [{"field": name, "message": exc.message}]
    return []


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    """Every string inside a JSON value, with its dotted path."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}.{i}")]
    return []


def _whatsapp_template_errors(value: Any) -> list[FieldError]:
    field = "whatsapp_template"
    if not isinstance(value, Mapping) or set(value) - {"name", "language", "components"}:
        return [{"field": field, "message": 'An object with "name", "language" and "components" only.'}]
    errors: list[FieldError] = []
    if not WHATSAPP_NAME.match(str(value.get("name") or "")):
        errors.append({"field": f"{field}.name", "message": "The approved template's name: a-z, 0-9 and _."})
    if not WHATSAPP_LANGUAGE.match(str(value.get("language") or "")):
        errors.append({"field": f"{field}.language", "message": "A language code such as en or en_US."})
    components = value.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, Mapping) for c in components):
        errors.append({"field": f"{field}.components", "message": "A list of component objects."})
    elif len(str(components)) > MAX_WHATSAPP_TEMPLATE:
        errors.append({"field": f"{field}.components", "message": "Too large."})
    else:
        for path, text in _strings(components, f"{field}.components"):
            errors += _source_errors(path, text)
    return errors


def _content_errors(channel: str, fields: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, value in fields.items():
        if name not in CHANNEL_FIELDS[channel] and value:
            errors.append({"field": name, "message": f"Not used by {channel} templates: leave it empty."})
        elif name == "whatsapp_template":
            errors += _whatsapp_template_errors(value) if value is not None else []
        else:
            errors += _text_errors(name, value)
    return errors


def _required_errors(channel: str, fields: Mapping[str, Any]) -> list[FieldError]:
    if channel == "email":
        missing: list[FieldError] = []
        if not fields.get("subject"):
            missing.append({"field": "subject", "message": "This field is required."})
        if not fields.get("html") and not fields.get("text"):
            missing.append({"field": "html", "message": "Give the HTML part, the text part or both."})
        return missing
    if channel == "whatsapp" and fields.get("body") and fields.get("whatsapp_template"):
        return [{"field": "whatsapp_template", "message": "Give either a body or an approved template, not both."}]
    if not fields.get("body") and not fields.get("whatsapp_template"):
        return [{"field": "body", "message": "This field is required."}]
    return []


def _reply_to_errors(value: str) -> list[FieldError]:
    try:
        validate_email(normalise_email(value))
    except (DjangoValidationError, ValueError, idna.IDNAError):
        return [{"field": "reply_to", "message": f"{value!r} is not a valid email address."}]
    return []


def _name_errors(owner: User, name: Any, template: Template | None) -> list[FieldError]:
    if not name:
        return [{"field": "name", "message": "This field is required."}]
    errors = _text_errors("name", name)
    taken = Template.objects.for_tenant(owner).filter(name=name, campaign_only=False)
    if not errors and taken.exclude(pk=template.pk if template else None).exists():
        errors.append({"field": "name", "message": f"You already have a template named {name!r}."})
    return errors


def check_template(
    *, owner: User, channel: str, name: Any, content: Mapping[str, Any], template: Template | None = None
) -> dict[str, Any]:
    """The template's fields as they will be stored (content fields not given are empty; reply_to normalised).
    Raises ValidationFailed listing every bad field: unknown channel, a field of another channel, a missing
    part, a line break in a header-bound field, a refused placeholder, a name already used by `owner`."""
    if channel not in CHANNELS:
        raise ValidationFailed.single("channel", f"Must be one of: {', '.join(CHANNELS)}.")
    return {"name": name, **_checked_content(channel, content, _name_errors(owner, name, template), prefix="")}


def check_content(*, channel: str, content: Any) -> dict[str, Any]:
    """A campaign's inline content (campaigns.models.Template.campaign_only) checked by the same rules as a saved
    template's, without a name: its content fields as they will be stored. Raises ValidationFailed naming each
    bad field `content.<field>` (`content.subject`, `content.whatsapp_template.components.0.text` …)."""
    if not isinstance(content, Mapping):
        raise ValidationFailed.single("content", "An object of the channel's template fields.")
    return _checked_content(channel, content, [], prefix="content.")


def _checked_content(channel: str, content: Mapping[str, Any], errors: list[FieldError], prefix: str) -> dict[str, Any]:
    unknown = sorted(set(content) - set(CONTENT_FIELDS))
    if unknown:
        raise ValidationFailed.single(f"{prefix}{unknown[0]}", "Not a template field.")
    fields: dict[str, Any] = {f: content.get(f, None if f == "whatsapp_template" else "") for f in CONTENT_FIELDS}
    errors = errors + _content_errors(channel, fields)
    if not errors:
        errors += _required_errors(channel, fields)
    if not errors and fields["reply_to"]:
        errors += _reply_to_errors(fields["reply_to"])
    if errors:
        errors = [{**e, "field": f"{prefix}{e['field']}"} for e in errors] if prefix else errors
        raise ValidationFailed(errors, message=f"{errors[0]['field']}: {errors[0]['message']}")
    if fields["reply_to"]:
        fields["reply_to"] = normalise_email(fields["reply_to"])
    return fields


def create_template(*, owner: User, channel: str, name: str, **content: Any) -> Template:
    """A new template of `owner`; `content` holds the channel's fields (CHANNEL_FIELDS). Raises ValidationFailed."""
    fields = check_template(owner=owner, channel=channel, name=name, content=content)
    try:
        with transaction.atomic():
            return Template.objects.create(owner=owner, channel=channel, **fields)
    except IntegrityError:  # the same name saved at the same moment: the unique constraint decides
        raise ValidationFailed.single("name", f"You already have a template named {name!r}.") from None


@transaction.atomic
def update_template(*, template: Template, **changes: Any) -> Template:
    """Changes the name and content fields (the channel and owner are fixed); the result is checked whole."""
    if template.campaign_only:
        raise Conflict("This is a campaign's own content: change it in the campaign (update_campaign).")
    fixed = sorted(set(changes) - set(EDITABLE))
    if fixed:
        raise ValidationFailed.single(fixed[0], "This field cannot be changed.")
    current = {f: getattr(template, f) for f in EDITABLE}
    merged = {**current, **changes}
    name = merged.pop("name")
    fields = check_template(
        owner=template.owner, channel=template.channel, name=name, content=merged, template=template
    )
    for key, value in fields.items():
        setattr(template, key, value)
    template.updated_at = timezone.now()
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:  # renamed to a name saved at the same moment
        template.refresh_from_db()
        raise ValidationFailed.single("name", f"You already have a template named {name!r}.") from None
    return template


def delete_template(*, template: Template) -> None:
    """Raises Conflict while a campaign uses the template (its messages are rendered from it)."""
    used = template.campaigns.count()
    if used:
        raise Conflict(f"{used} campaign(s) use this template: delete them first, or keep the template.")
    template.delete()


PREVIEW_UNSUBSCRIBE_URL = "https://example.com/unsubscribe/preview"


def preview_template(
    *, template: Template, data: Mapping[str, Any], unsubscribe_url: str = PREVIEW_UNSUBSCRIBE_URL
) -> Rendered:
    """What `template` looks like for `data` (a chosen contact's data, or sample data typed in the editor)."""
    return render_template(template=template, contact=data, unsubscribe_url=unsubscribe_url)


# ---------------------------------------------------------------- campaigns

AUDIENCE_FIELDS = (
    "include_lists", "include_tags", "include_segments", "exclude_lists", "exclude_tags", "exclude_segments",
)  # fmt: skip
AUDIENCE_MODELS: dict[str, type[ContactList] | type[Tag] | type[Segment]] = {
    "lists": ContactList, "tags": Tag, "segments": Segment,
}  # fmt: skip
CAMPAIGN_FIELDS = (
    "name", "template", "content", "gateway_identifier", "schedule_at", "contact_time_zone", "throttle",
    *AUDIENCE_FIELDS, "sender", "track_opens_clicks",
)  # fmt: skip
EDITABLE_STATUSES = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


@dataclass
class CampaignInput:
    """A campaign's fields as checked: the owner's own objects, resolved from public ids. Its content is either
    `template` (one of the owner's saved templates) or `content` (inline content's fields, check_content)."""

    name: str
    template: Template | None
    gateway_identifier: str
    schedule_at: datetime | None
    throttle: int | None
    audience: dict[str, list[Any]]
    sender: Sender | None = None
    track_opens_clicks: bool = True
    contact_time_zone: bool = False  # schedule_at's wall-clock time in each contact's zone (campaigns.local_time)
    content: dict[str, Any] | None = None


def _owned(
    owner: User, model: type[ContactList] | type[Tag] | type[Segment], field: str, ids: Any
) -> tuple[list, list[FieldError]]:
    """The owner's lists, tags or segments named by public id (tags also by name); another tenant's id is
    unknown."""
    if not isinstance(ids, list | tuple) or not all(isinstance(i, str) for i in ids):
        return [], [{"field": field, "message": "A list of public ids."}]
    wanted = set(ids)
    lookup = Q(public_id__in=wanted) | (Q(name__in=wanted) if model is Tag else Q(pk__in=[]))
    found = list(model.objects.for_tenant(owner).filter(lookup))
    known = {o.public_id for o in found} | ({o.name for o in found} if model is Tag else set())
    unknown = sorted(wanted - known)
    if unknown:
        return [], [{"field": field, "message": f"Unknown: {', '.join(unknown[:5])}."}]
    return found, []


def _template_errors(owner: User, channel: str, template: Any) -> tuple[Template | None, list[FieldError]]:
    found = None
    if isinstance(template, Template):
        found = template if template.owner_id == owner.pk else None
    elif isinstance(template, str) and is_public_id(template, "template"):
        found = Template.objects.for_tenant(owner).filter(public_id=template).first()
    if found is not None and found.campaign_only:  # another campaign's own content is never shared
        found = None
    if found is None:
        return None, [{"field": "template", "message": "Template not found."}]
    if found.channel != channel:
        return None, [{"field": "template", "message": f"A {found.channel} template: choose a {channel} one."}]
    return found, []


def _source_errors_of(
    owner: User, channel: str, values: dict[str, Any]
) -> tuple[Template | None, dict[str, Any] | None, list[FieldError]]:
    """The campaign's content: a saved template (by public id or instance) or inline `content`, not both."""
    template, content = values.get("template"), values.get("content")
    if template not in (None, "") and content is not None:
        message = "Give either a saved template or the content, not both."
        return None, None, [{"field": "content", "message": message}]
    if content is not None:
        try:
            return None, check_content(channel=channel, content=content), []
        except ValidationFailed as exc:
            return None, None, exc.errors
    if template in (None, ""):
        return None, None, [{"field": "template", "message": "Choose a saved template or write the content."}]
    found, errors = _template_errors(owner, channel, template)
    return found, None, errors


def _setting_errors(owner: User, channel: str, values: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    name = values.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200 or any(c in name for c in HEADER_BREAKS):
        errors.append({"field": "name", "message": "A name of 1 to 200 characters on one line."})
    identifier = values.get("gateway_identifier") or ""
    if identifier and identifier not in gateways_by_identifier(usable_gateways(owner, channel)):
        errors.append({"field": "gateway_identifier", "message": f"No {channel} gateway {identifier!r}."})
    at = values.get("schedule_at")
    if at is not None and (not isinstance(at, datetime) or timezone.is_naive(at)):
        errors.append({"field": "schedule_at", "message": "A date and time with its time zone, or empty."})
    local = values.get("contact_time_zone", False)
    if not isinstance(local, bool):
        errors.append({"field": "contact_time_zone", "message": "Must be true or false."})
    elif local and at is None:  # "now" is the same moment everywhere: there is no local time to wait for
        errors.append({"field": "contact_time_zone", "message": "Choose a time to send at in each contact's zone."})
    throttle = values.get("throttle")
    if throttle is not None and (isinstance(throttle, bool) or not isinstance(throttle, int) or throttle < 1):
        errors.append({"field": "throttle", "message": "Messages per minute: a whole number of at least 1, or empty."})
    return errors


def check_campaign(*, owner: User, channel: str, values: dict[str, Any]) -> CampaignInput:
    """`values` (CAMPAIGN_FIELDS; lists, tags and segments by public id, the template by public id or instance)
    checked for `owner`: only the owner's templates, lists, tags, segments and gateways. The content is `template`
    (a saved one) or `content` (inline: the channel's template fields, checked by check_content), not both.
    `contact_time_zone` (send at schedule_at's wall-clock time in each contact's zone) needs a schedule_at; a
    throttle goes with it or not.
    Raises ValidationFailed naming every bad field."""
    if channel not in CHANNELS:
        raise ValidationFailed.single("channel", f"Must be one of: {', '.join(CHANNELS)}.")
    unknown = sorted(set(values) - set(CAMPAIGN_FIELDS))
    if unknown:
        raise ValidationFailed.single(unknown[0], "Not a campaign field.")
    template, content, errors = _source_errors_of(owner, channel, values)
    errors += _setting_errors(owner, channel, values)
    sender, problems = owned_sender(owner, values.get("sender"))
    if sender is not None and channel != "email":
        problems = [{"field": "sender", "message": "Only an email campaign names a sender."}]
    errors += problems
    tracking = values.get("track_opens_clicks", True)
    if not isinstance(tracking, bool):
        errors.append({"field": "track_opens_clicks", "message": "Must be true or false."})
    audience: dict[str, list[Any]] = {}
    for field in AUDIENCE_FIELDS:
        model = AUDIENCE_MODELS[field.split("_", 1)[1]]
        audience[field], problems = _owned(owner, model, field, values.get(field) or [])
        errors += problems
    if errors:
        raise ValidationFailed(errors, message=f"{errors[0]['field']}: {errors[0]['message']}")
    return CampaignInput(
        name=values["name"].strip(),
        template=template,
        content=content,
        gateway_identifier=values.get("gateway_identifier") or "",
        schedule_at=values.get("schedule_at"),
        throttle=values.get("throttle"),
        audience=audience,
        sender=sender,
        track_opens_clicks=tracking,
        contact_time_zone=values.get("contact_time_zone", False),
    )


def _inline(campaign: Campaign) -> Template | None:
    """The campaign's own content (a campaign-only template), if it has inline content."""
    template = campaign.template if campaign.template_id else None
    return template if template is not None and template.campaign_only else None


def _content_template(campaign: Campaign, content: dict[str, Any]) -> Template:
    """The campaign's own template holding `content` (checked): its current one changed, or a new one. Its name is
    the campaign's public id: unique, and not one of the tenant's template names (the constraint skips it)."""
    template = _inline(campaign) or Template(
        owner=campaign.owner, channel=campaign.channel, name=campaign.public_id, campaign_only=True
    )
    for key, value in content.items():
        setattr(template, key, value)
    template.updated_at = timezone.now()
    template.save()
    return template


def _apply(campaign: Campaign, checked: CampaignInput) -> Campaign:
    previous = _inline(campaign)
    if checked.content is not None:
        checked.template = _content_template(campaign, checked.content)
    for field in (
        "name", "template", "gateway_identifier", "schedule_at", "contact_time_zone", "throttle", "sender",
        "track_opens_clicks",
    ):  # fmt: skip
        setattr(campaign, field, getattr(checked, field))
    campaign.updated_at = timezone.now()
    campaign.save()
    if previous is not None and previous.pk != campaign.template_id:  # switched to a saved template: never reused
        previous.delete()
    for field, objects in checked.audience.items():
        getattr(campaign, field).set(objects)
    return campaign


@transaction.atomic
def create_campaign(*, owner: User, channel: str, **values: Any) -> Campaign:
    """A Draft campaign of `owner` (CAMPAIGN_FIELDS). Raises ValidationFailed."""
    checked = check_campaign(owner=owner, channel=channel, values=values)
    return _apply(Campaign(owner=owner, channel=channel), checked)


@transaction.atomic
def update_campaign(*, campaign: Campaign, **changes: Any) -> Campaign:
    """Changes a Draft or Scheduled campaign (its channel and owner are fixed); the result is checked whole.
    `template` switches to a saved template (the inline content is deleted), `content` to inline content (the
    whole content: fields not given are empty). Raises Conflict once it has started, ValidationFailed."""
    campaign = _locked(campaign)
    if campaign.status not in EDITABLE_STATUSES:
        raise Conflict(f"The campaign is {campaign.get_status_display().lower()}: it can no longer be changed.")
    scalar = [f for f in CAMPAIGN_FIELDS if f not in (*AUDIENCE_FIELDS, "template", "content")]
    current: dict[str, Any] = {f: getattr(campaign, f) for f in scalar}
    current.update({f: [o.public_id for o in getattr(campaign, f).all()] for f in AUDIENCE_FIELDS})
    inline = _inline(campaign)
    if "template" not in changes and "content" not in changes:  # the content stays as it is
        current.update({"content": inline_content(inline)} if inline else {"template": campaign.template})
    checked = check_campaign(owner=campaign.owner, channel=campaign.channel, values={**current, **changes})
    return _apply(campaign, checked)


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update(of=("self",)).select_related("owner", "template").get(pk=campaign.pk)


def _check_ready(campaign: Campaign) -> None:
    if campaign.status not in EDITABLE_STATUSES:
        raise Conflict(f"The campaign is {campaign.get_status_display().lower()}: it cannot be started.")
    if not any(getattr(campaign, f).exists() for f in ("include_lists", "include_tags", "include_segments")):
        raise ValidationFailed.single("include_lists", "Choose at least one list, tag or segment to send to.")
    check_plan(principal=campaign.owner, channel=campaign.channel)
    gateways = usable_gateways(campaign.owner, campaign.channel)
    chosen = gateways_by_identifier(gateways).get(campaign.gateway_identifier) if campaign.gateway_identifier else None
    gateway = chosen or (None if campaign.gateway_identifier else default_gateway(gateways))
    if gateway is None:
        what = campaign.gateway_identifier or f"default {campaign.channel} gateway"
        raise GatewayNotFound(f"No {what}: add one or choose another.", field="gateway_identifier")
    if campaign.template.whatsapp_template and not get_backend_class(gateway.provider).sends_templates:
        raise GatewayNotFound(
            f"Gateway {gateway.identifier!r} ({gateway.provider}) cannot send approved WhatsApp templates: choose a "
            "WhatsApp Cloud API gateway.",
            field="gateway_identifier",
        )


@transaction.atomic
def schedule_campaign(*, campaign: Campaign, schedule_at: datetime | None = None) -> Campaign:
    """Draft → Scheduled for `schedule_at` (default: the campaign's own); a time not in the future starts it now
    (start_campaign) — in each contact's time zone, a time the first zone has reached (campaigns.local_time).
    Checks the credit for the audience as it is now (CreditExhausted naming the shortfall); nothing is reserved until the scheduler starts it when due (start_campaign reserves it then)."""
    campaign = _locked(campaign)
    at = schedule_at or campaign.schedule_at
    if campaign.contact_time_zone and at != campaign.schedule_at:  # each contact's time is read from it
        campaign.schedule_at = at
        Campaign.objects.filter(pk=campaign.pk).update(schedule_at=at)
    start = starts_at(at, campaign.contact_time_zone)  # in each contact's zone: when the first zone reaches it
    if start is None or start <= timezone.now():
        return start_campaign(campaign=campaign)
    _check_ready(campaign)
    fanout.check_credit(campaign, fanout.audience_count(campaign))
    campaign.status, campaign.schedule_at, campaign.last_error = CampaignStatus.SCHEDULED, at, ""
    campaign.updated_at = timezone.now()
    campaign.save(update_fields=["status", "schedule_at", "last_error", "updated_at"])
    return campaign


@transaction.atomic
def start_campaign(*, campaign: Campaign) -> Campaign:
    """Draft or Scheduled → Sending: resolves the audience into recipients, reserves the credit for all of them
    (one ledger entry: fanout.reserve_credit) and queues the fan-out — or, when the credit falls short, raises
    CreditExhausted naming the shortfall and nothing is written or debited. Also raises Conflict (not startable),
    ValidationFailed (no audience), GatewayNotFound."""
    campaign = _locked(campaign)
    _check_ready(campaign)
    recipients = fanout.resolve_audience(campaign)
    fanout.reserve_credit(campaign, recipients)  # raising rolls back the recipients written above
    now = timezone.now()
    campaign.status, campaign.recipients_count, campaign.last_error = CampaignStatus.SENDING, recipients, ""
    campaign.started_at = campaign.pace_from = campaign.heartbeat_at = campaign.updated_at = now
    campaign.pace_position = 1
    campaign.save()
    jobs.enqueue_fan_out(campaign.pk)
    return campaign


def _withdraw(campaign: Campaign, forget: bool) -> int:
    """Cancels the campaign's messages no worker or phone has claimed yet (Scheduled, Pending), refunded through
    messaging.transitions.cancel; a claimed one is left alone. With `forget`, their recipients lose the message
    so that a resume creates a new one. Returns how many were withdrawn."""
    queued = list(fanout.queued_messages(campaign).only("pk"))
    if not queued:
        return 0
    cancel_messages(messages=queued)
    withdrawn = list(
        Message.objects.filter(pk__in=[m.pk for m in queued], status=Status.CANCELLED).values_list("uid", "cost")
    )
    if forget:
        CampaignRecipient.objects.filter(campaign=campaign, message_uid__in=[u for u, _ in withdrawn]).update(
            message_uid=None
        )
    campaign.messages_count -= len(withdrawn) if forget else 0
    campaign.cost -= sum(cost for _, cost in withdrawn)
    return len(withdrawn)


@transaction.atomic
def pause_campaign(*, campaign: Campaign) -> Campaign:
    """Sending → Paused: no further chunk runs (it takes the campaign's lock and sees the status), and the
    campaign's messages not yet claimed are withdrawn and refunded; resume creates them again. The credit
    reserved for the recipients without a message stays reserved. Raises Conflict."""
    campaign = _locked(campaign)
    if campaign.status != CampaignStatus.SENDING:
        raise Conflict(f"Only a sending campaign can be paused; this one is {campaign.get_status_display().lower()}.")
    _withdraw(campaign, forget=True)
    campaign.status, campaign.updated_at, campaign.fanned_out_at = CampaignStatus.PAUSED, timezone.now(), None
    campaign.save()
    return campaign


@transaction.atomic
def resume_campaign(*, campaign: Campaign) -> Campaign:
    """Paused → Sending from the first recipient without a message (the throttle counts from now). The campaign
    keeps what it has reserved; when that no longer covers the recipients left (the messages a pause withdrew
    were refunded to the balance), the difference is reserved now (CreditExhausted naming the shortfall, and
    it stays Paused). A campaign the scheduler could not start is started (start_campaign). Raises Conflict."""
    campaign = _locked(campaign)
    if campaign.status != CampaignStatus.PAUSED:
        raise Conflict(f"Only a paused campaign can be resumed; this one is {campaign.get_status_display().lower()}.")
    if campaign.started_at is None:  # paused by the scheduler before it could start (credit, gateway): start now
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SCHEDULED)
        return start_campaign(campaign=campaign)
    todo = CampaignRecipient.objects.filter(campaign=campaign, message_uid__isnull=True, skipped="")
    fanout.reserve_credit(campaign, todo.count())
    now = timezone.now()
    campaign.status, campaign.last_error = CampaignStatus.SENDING, ""
    campaign.pace_from = campaign.heartbeat_at = campaign.updated_at = now
    campaign.pace_position = todo.order_by("position").values_list("position", flat=True).first() or 1
    campaign.save()
    jobs.enqueue_fan_out(campaign.pk)
    return campaign


@transaction.atomic
def cancel_campaign(*, campaign: Campaign) -> Campaign:
    """Any campaign not yet finished → Cancelled: no further chunk runs; its messages not yet claimed by a
    worker or phone are cancelled and refunded one by one (those claimed go on), and the credit still reserved
    for recipients without a message goes back in one entry. Raises Conflict when already Sent or Cancelled."""
    campaign = _locked(campaign)
    if campaign.status in (CampaignStatus.SENT, CampaignStatus.CANCELLED):
        raise Conflict(f"The campaign is already {campaign.get_status_display().lower()}.")
    _withdraw(campaign, forget=False)
    fanout.release_reservation(campaign)  # the withdrawn messages were paid from it already: no overlap
    campaign.status = CampaignStatus.CANCELLED
    campaign.finished_at = campaign.updated_at = timezone.now()
    campaign.save()
    return campaign


@transaction.atomic
def delete_campaign(*, campaign: Campaign) -> None:
    """Removes a campaign that never started (Draft, Scheduled; nothing is reserved before the start), with its
    inline content. Raises Conflict otherwise: its recipients are the record of who got a message."""
    campaign = _locked(campaign)
    if campaign.status not in EDITABLE_STATUSES:
        raise Conflict("Only a draft or scheduled campaign can be deleted; cancel it instead.")
    inline = _inline(campaign)
    campaign.delete()
    if inline is not None:
        inline.delete()


def inline_content(template: Template) -> dict[str, Any]:
    """A campaign's inline content as update_campaign takes it: the channel's template fields."""
    return {f: getattr(template, f) for f in CHANNEL_FIELDS[template.channel]}
