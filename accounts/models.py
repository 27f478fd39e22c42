"""Tenants (users), plans, the per-channel credit ledger and API keys."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

CHANNELS = ("email", "sms", "whatsapp")


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"


UNLIMITED = -1


def default_channels() -> list[str]:
    return list(CHANNELS)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password) if password else user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class Plan(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    email_credits = models.IntegerField(default=0, help_text="Credits granted on assignment; -1 = unlimited.")
    sms_credits = models.IntegerField(default=0, help_text="Credits granted on assignment; -1 = unlimited.")
    whatsapp_credits = models.IntegerField(default=0, help_text="Credits granted on assignment; -1 = unlimited.")
    allowed_channels = models.JSONField(default=default_channels)
    rate_limit_per_minute = models.PositiveIntegerField(default=60)
    max_contacts = models.IntegerField(default=UNLIMITED)
    duration_days = models.PositiveIntegerField(default=0, help_text="0 = never expires.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=models.Q(email_credits__gte=-1), name="plan_email_credits_valid"),
            models.CheckConstraint(condition=models.Q(sms_credits__gte=-1), name="plan_sms_credits_valid"),
            models.CheckConstraint(condition=models.Q(whatsapp_credits__gte=-1), name="plan_whatsapp_credits_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    def grant_for(self, channel: str) -> int:
        return int(getattr(self, f"{channel}_credits"))


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(
        default=True, help_text="Unset to suspend: the user's keys and logins stop working."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    plan_expires_at = models.DateTimeField(null=True, blank=True)
    # Part of every session's hash: raising it (accounts.services.end_sessions) signs every session out at its
    # next request — a suspension, "sign out of all other sessions".
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's hash (it changes with the password) bound to `session_epoch` as well. At epoch 0 it is Django's
        own, so that sessions opened before the epoch existed stay valid."""
        hashed = super()._get_session_auth_hash(secret=secret)
        if not self.session_epoch:
            return hashed
        salt = "accounts.User.session_epoch"
        return salted_hmac(salt, f"{hashed}:{self.session_epoch}", secret=secret, algorithm="sha256").hexdigest()

    @property
    def is_admin(self) -> bool:
        return self.is_superuser

    @property
    def rate_limit(self) -> int:
        if self.plan_id is not None:
            return self.plan.rate_limit_per_minute
        return settings.XSENDER_DEFAULT_RATE_LIMIT


class CreditAccount(models.Model):
    """A user's balance on one channel. Changed only by accounts.services (with a CreditEntry each time)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_accounts")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    balance = models.BigIntegerField(default=0)
    unlimited = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)
    low_credit_threshold = models.PositiveIntegerField(
        default=0, help_text="A debit that takes the balance below this raises credit.low; 0 = never."
    )
    # Set by the debit that crossed the threshold, cleared when credit.low is published (services).
    low_credit_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["low_credit_at"], name="credit_low_to_publish", condition=models.Q(low_credit_at__isnull=False)
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="one_credit_account_per_channel"),
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="credit_balance_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.channel}: {'unlimited' if self.unlimited else self.balance}"


class CreditEntry(models.Model):
    """Append-only ledger line. The sum of an account's entries equals its balance."""

    class Reason(models.TextChoices):
        PLAN = "plan", "Plan grant"
        TOPUP = "topup", "Top-up"
        SEND = "send", "Send"
        REFUND = "refund", "Refund"
        ADJUST = "adjust", "Adjustment"

    # Indexed by "ledger_by_account" below (its first column), not on its own: one index per entry written.
    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries", db_index=False)
    delta = models.BigIntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=255, blank=True)
    message_uid = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        # The panel's ledger, newest first per account (keyset pages on created_at, id); replaces the plain index of
        # the account column at the same write cost (every send writes an entry).
        indexes = [models.Index(fields=["account", "created_at", "id"], name="ledger_by_account")]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.reason}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("Credit entries are append-only.")
        super().save(*args, **kwargs)


class ApiKey(models.Model):
    """An API key: only its SHA-256 hash is kept; `prefix` finds it and is safe to display."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def is_admin_scope(self) -> bool:
        return self.user.is_superuser

    # Read by xsender.throttling.PlanRateThrottle.
    @property
    def rate_limit_key(self) -> str:
        return f"key:{self.pk}"

    @property
    def rate_limit(self) -> int:
        return self.user.rate_limit


class SiteSetting(models.Model):
    """An installation-wide setting edited by admins (application URL, branding, default sender…)."""

    key = models.SlugField(max_length=100, unique=True)
    value = models.JSONField(default=str, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key
