"""The audience: contacts, the lists and tags they belong to, and the tenant's custom fields.

Every object has a public id (`contact_…`, `list_…`, `tag_…`, `custom_field_…`: xsender.public_ids) besides its
internal key, and an owner (the tenant); reads start from `Model.objects.for_tenant(user)`. Every change goes
through contacts.services.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from xsender.public_ids import public_id_default
from xsender.tenancy import TenantQuerySet

PUBLIC_ID_LENGTH = 40  # the longest prefix (custom_field_, 13) + 22


class ContactStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", "Subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"
    BLOCKED = "blocked", "Blocked"


# The channel each status column speaks for (a phone number serves both SMS and WhatsApp, each with its own
# opt-out, as the suppression list keeps them).
STATUS_FIELDS = {"email": "email_status", "sms": "sms_status", "whatsapp": "whatsapp_status"}


class ContactList(models.Model):
    public_id = models.CharField(
        max_length=PUBLIC_ID_LENGTH, unique=True, default=public_id_default("list"), editable=False
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_lists")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()
    tenant_field = "owner"

    class Meta:
        ordering = ["name"]
        verbose_name = "list"
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="contact_list_name_unique_per_owner")]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    public_id = models.CharField(
        max_length=PUBLIC_ID_LENGTH, unique=True, default=public_id_default("tag"), editable=False
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_tags")
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()
    tenant_field = "owner"

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="tag_name_unique_per_owner")]

    def __str__(self) -> str:
        return self.name


class CustomField(models.Model):
    """A typed field the tenant adds to contacts. A contact's values live in `Contact.custom`, keyed by the
    field's public id (so a rename touches no contact)."""

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Boolean"
        CHOICE = "choice", "Choice"
        PHONE = "phone", "Phone number"

    public_id = models.CharField(
        max_length=PUBLIC_ID_LENGTH, unique=True, default=public_id_default("custom_field"), editable=False
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="custom_fields")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.TEXT)
    choices = ArrayField(models.CharField(max_length=255), default=list, blank=True, help_text="For a choice field.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()
    tenant_field = "owner"

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="custom_field_name_unique_per_owner")]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class Contact(models.Model):
    """A person of the tenant's audience, reachable by email and/or phone (E.164), each unique per tenant."""

    # Unique by a constraint, not `unique=True`: that adds a second (varchar_pattern_ops) index for LIKE, which no
    # query of ours uses (a public id is only ever looked up whole) and which cost every insert a random btree write.
    public_id = models.CharField(max_length=PUBLIC_ID_LENGTH, default=public_id_default("contact"), editable=False)
    # The indexes below start with owner: no separate one to maintain on every write (nor for a planner whose
    # statistics lag behind a growing tenant to pick over them).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contacts", db_index=False
    )
    email = models.CharField(max_length=254, blank=True, help_text="Lower case, IDNA domain; empty if none.")
    phone = models.CharField(max_length=16, blank=True, help_text="E.164; empty if none.")
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    company = models.CharField(max_length=255, blank=True)
    time_zone = models.CharField(
        max_length=64, blank=True, db_default="", help_text="IANA name (Europe/Paris); empty = the server's."
    )
    custom = models.JSONField(default=dict, blank=True, help_text="Custom field values keyed by the field's public id.")
    email_status = models.CharField(max_length=16, choices=ContactStatus.choices, default=ContactStatus.SUBSCRIBED)
    sms_status = models.CharField(max_length=16, choices=ContactStatus.choices, default=ContactStatus.SUBSCRIBED)
    whatsapp_status = models.CharField(max_length=16, choices=ContactStatus.choices, default=ContactStatus.SUBSCRIBED)
    # Memberships link a tenant's contacts to its own lists and tags only (services, imports): a list's or tag's
    # memberships are its contacts, counted from their (list, contact) / (tag, contact) index (migration 0005).
    lists = models.ManyToManyField(ContactList, blank=True, related_name="contacts")
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()
    tenant_field = "owner"

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="contact_public_id_unique"),
            models.UniqueConstraint(
                fields=["owner", "email"], condition=~models.Q(email=""), name="contact_email_unique_per_owner"
            ),
            models.UniqueConstraint(
                fields=["owner", "phone"], condition=~models.Q(phone=""), name="contact_phone_unique_per_owner"
            ),
            models.CheckConstraint(condition=~models.Q(email="", phone=""), name="contact_has_email_or_phone"),
        ]
        indexes = [
            # The selectors' keyset pages (newest first) and their prefix searches.
            models.Index(fields=["owner", "-id"], name="contact_owner_page"),
            models.Index(
                fields=["owner", "email"], opclasses=["int8_ops", "varchar_pattern_ops"], name="contact_email_prefix"
            ),
            models.Index(
                fields=["owner", "phone"], opclasses=["int8_ops", "varchar_pattern_ops"], name="contact_phone_prefix"
            ),
            # A search by name: `istartswith` is `UPPER(name) LIKE UPPER('text%')`, a prefix of this expression.
            # Declared here for the migration state only: the SQL that builds them is written out in contacts/0006
            # (Django renders an operator class on an expression right only with django.contrib.postgres
            # installed). Change both together.
            *(
                models.Index(
                    models.F("owner"), OpClass(Upper(name), name="text_pattern_ops"), name=f"contact_{name}_prefix"
                )
                for name in ("first_name", "last_name")
            ),
            # Segments' custom-value equality (choice, boolean, text equals): `custom @> {"<field id>": value}`.
            GinIndex(fields=["custom"], opclasses=["jsonb_path_ops"], name="contact_custom_values"),
        ]

    def __str__(self) -> str:
        return self.email or self.phone

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def status_for(self, channel: str) -> str:
        """The contact's status on `channel`: what the suppression list says when a selector annotated it
        (contacts.selectors.with_statuses: a bounce a provider reported shows without touching the contact),
        else the stored status."""
        return getattr(self, f"effective_{channel}_status", None) or getattr(self, STATUS_FIELDS[channel])


# Suppression reasons (messaging.models.Suppression.Reason values) as contact statuses, and back.
SUPPRESSION_STATUS = {
    "opt_out": ContactStatus.UNSUBSCRIBED,
    "bounce": ContactStatus.BOUNCED,
    "complaint": ContactStatus.COMPLAINED,
    "manual": ContactStatus.BLOCKED,
}
STATUS_SUPPRESSION = {status: reason for reason, status in SUPPRESSION_STATUS.items()}


class Segment(models.Model):
    """Saved rules over the tenant's contacts (contacts.segments: the rules' shape and their SQL)."""

    class Match(models.TextChoices):
        ALL = "all", "All rules"
        ANY = "any", "Any rule"

    public_id = models.CharField(
        max_length=PUBLIC_ID_LENGTH, unique=True, default=public_id_default("segment"), editable=False
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    match = models.CharField(max_length=8, choices=Match.choices, default=Match.ALL)
    rules = models.JSONField(default=list, blank=True, help_text="Validated by contacts.segments.check_rules.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()
    tenant_field = "owner"

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="segment_name_unique_per_owner")]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """A CSV/XLSX import running in the background (contacts.imports). The file is kept in the database
    (gzip-compressed), so any worker on any host can run or resume it; it is emptied once the import ends.
    `rows_processed` is the checkpoint: each chunk's upsert and its advance commit together."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    public_id = models.CharField(
        max_length=PUBLIC_ID_LENGTH, unique=True, default=public_id_default("import"), editable=False
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_imports")
    filename = models.CharField(max_length=255)
    delimiter = models.CharField(max_length=1, blank=True, help_text="A CSV file's, found on upload.")
    data = models.BinaryField(help_text="The uploaded file, gzip-compressed; emptied when the import ends.")
    mapping = models.JSONField(default=dict, help_text="Column → email, phone, first_name, … or custom.<field id>.")
    contact_list = models.ForeignKey(ContactList, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    tag_ids = ArrayField(models.BigIntegerField(), default=list, blank=True, help_text="Tags every row gets.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_processed = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, blank=True, help_text="Skipped rows: [{row, reason}], the first 1,000.")
    claim_token = models.UUIDField(null=True, blank=True, help_text="The run holding the job.")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()
    tenant_field = "owner"

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The scheduler's sweep: unfinished imports whose run was lost.
            models.Index(
                fields=["lease_expires_at"],
                name="import_unfinished",
                condition=models.Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} [{self.status}]"
