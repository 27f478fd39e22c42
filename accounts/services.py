"""Every state change of accounts: users, plans, credits (through the ledger) and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import CHANNELS, UNLIMITED, ApiKey, CreditAccount, CreditEntry, Plan, SiteSetting, User
from accounts.selectors import key_with_owner
from xsender import events
from xsender.errors import Conflict, CreditExhausted, NotFound, ValidationFailed
from xsender.events import PlatformEvent

KEY_PREFIX = "xs_"


# ---------------------------------------------------------------- credits


def _account(user: User, channel: str) -> CreditAccount:
    if channel not in CHANNELS:
        raise ValidationFailed.single("channel", f"Unknown channel {channel!r}: use one of {', '.join(CHANNELS)}.")
    account, _ = CreditAccount.objects.get_or_create(user=user, channel=channel)
    return account


def debit_credits(
    *, user: User, channel: str, amount: int, reason: str = CreditEntry.Reason.SEND, note: str = ""
) -> CreditEntry | None:
    """Takes `amount` credits atomically, never below zero.

    Raises CreditExhausted when the balance is short (nothing changes). Unlimited accounts are not
    debited (returns None). The caller's transaction, if any, makes the debit part of its own.
    """
    if amount < 0:
        raise ValidationFailed.single("amount", "Amount must not be negative.")
    account = _account(user, channel)
    if account.unlimited or amount == 0:
        return None
    with transaction.atomic(savepoint=False):
        # The conditional UPDATE is the whole guard: concurrent debits serialise on the row.
        now = timezone.now()
        crossed = RawSQL(LOW_CREDIT_CROSSED, [amount, now])  # noqa: S611 — a constant; the values are parameters
        updated = CreditAccount.objects.filter(pk=account.pk, balance__gte=amount).update(
            balance=F("balance") - amount, updated_at=now, low_credit_at=crossed
        )
        if updated:
            return CreditEntry.objects.create(account=account, delta=-amount, reason=reason, note=note)
    # Raised outside the atomic block, so a caller's transaction stays usable.
    raise short_of_credit(channel, amount)


@dataclass(frozen=True)
class DebitStatement:
    """The ledger's debit as common table expressions, for a caller that must charge and write in one
    statement (the send path's single-recipient requests): it defines `charged`, one row when the charge took
    (or the account is unlimited), none when the balance is short. The same rule as `debit_credits`: a
    conditional UPDATE that never takes the balance below zero, and one ledger entry with it."""

    sql: str
    params: list[Any]


def debit_statement(
    *, user_id: int, channel: str, amount: int, note: str = "", only_if: tuple[str, list[Any]] = ("TRUE", [])
) -> DebitStatement:
    """`only_if`: a condition of the caller's statement (SQL and its parameters); without it nothing is charged
    (and `charged` is empty), so the caller can guard its whole write on it."""
    now = timezone.now()
    condition, condition_params = only_if
    sql = (
        f"account AS (SELECT id, unlimited FROM accounts_creditaccount WHERE user_id = %s AND channel = %s "  # noqa: S608
        f"AND {condition}), "
        "debit AS (UPDATE accounts_creditaccount AS a SET balance = a.balance - %s, updated_at = %s, "
        f"low_credit_at = {LOW_CREDIT_CROSSED} FROM account "
        "WHERE a.id = account.id AND NOT account.unlimited AND a.balance >= %s RETURNING a.id), "
        "entry AS (INSERT INTO accounts_creditentry (account_id, delta, reason, note, created_at) "
        "SELECT id, %s, %s, %s, %s FROM debit), "
        "charged AS (SELECT 1 FROM account WHERE unlimited UNION ALL SELECT 1 FROM debit)"
    )
    params = [user_id, channel, *condition_params, amount, now, amount, now, amount]
    params += [-amount, CreditEntry.Reason.SEND, note, now]
    return DebitStatement(sql=sql, params=params)


# The debit's rule for credit.low, in its UPDATE (of the balance before it): the first debit that takes the balance
# from the tenant's threshold or above to below it marks the account (parameters: the amount, the time); later
# debits leave the mark as it is. publish_low_credit turns marks into events, once per crossing.
LOW_CREDIT_CROSSED = (
    "CASE WHEN balance >= low_credit_threshold AND balance - %s < low_credit_threshold THEN %s ELSE low_credit_at END"
)


def publish_low_credit(*, limit: int = 1000) -> int:
    """Publishes `credit.low` (xsender.events) for each account a debit took below its threshold since the last
    pass, and clears the marks, in one transaction: an event is recorded exactly once per crossing. Two passes
    at once take different rows (SKIP LOCKED). Returns how many it published."""
    with transaction.atomic():
        rows = list(
            CreditAccount.objects.select_for_update(skip_locked=True)
            .filter(low_credit_at__isnull=False)
            .order_by("pk")[:limit]
        )
        if not rows:
            return 0
        CreditAccount.objects.filter(pk__in=[row.pk for row in rows]).update(low_credit_at=None)
        events.publish([_credit_low(row) for row in rows])
    return len(rows)


def _credit_low(account: CreditAccount) -> PlatformEvent:
    data = {"channel": account.channel, "balance": account.balance, "threshold": account.low_credit_threshold}
    return PlatformEvent("credit.low", account.user_id, data=data, at=account.low_credit_at or timezone.now())


def set_low_credit_threshold(*, user: User, channel: str, threshold: int) -> CreditAccount:
    """Below how many credits a debit on `channel` raises `credit.low` (0: never). Raises ValidationFailed."""
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 10**9:
        raise ValidationFailed.single("threshold", "Enter a whole number of credits, 0 or more (0 turns it off).")
    account = _account(user, channel)
    CreditAccount.objects.filter(pk=account.pk).update(low_credit_threshold=threshold)
    account.low_credit_threshold = threshold
    return account


def ensure_account(*, user: User, channel: str) -> CreditAccount:
    """The user's account on `channel`, created empty if it is missing."""
    return _account(user, channel)


def short_of_credit(channel: str, amount: int) -> CreditExhausted:
    return CreditExhausted(f"Not enough {channel} credit: {amount} needed. Buy more credit or upgrade your plan.")


def add_credits(
    *,
    user: User,
    channel: str,
    amount: int,
    reason: str = CreditEntry.Reason.TOPUP,
    note: str = "",
    message_uid: uuid.UUID | None = None,
) -> CreditEntry | None:
    """Adds credits (top-up, plan grant, refund). Unlimited accounts record nothing."""
    if amount <= 0:
        raise ValidationFailed.single("amount", "Amount must be a positive whole number.")
    account = _account(user, channel)
    if account.unlimited:
        return None
    with transaction.atomic():
        CreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount, updated_at=timezone.now())
        return CreditEntry.objects.create(
            account=account, delta=amount, reason=reason, note=note, message_uid=message_uid
        )


def adjust_credits(*, user: User, channel: str, delta: int, note: str = "") -> CreditEntry:
    """An admin's correction of a balance, up or down, written to the ledger as an adjustment. Never below zero:
    a decrease larger than the balance is refused and nothing changes. An unlimited account has no balance to
    adjust. Raises ValidationFailed."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise ValidationFailed.single("delta", "Enter a whole number of credits other than 0 (negative takes away).")
    if len(note) > 255 or any(char in note for char in "\r\n\0"):
        raise ValidationFailed.single("note", "Note: up to 255 characters on one line.")
    account = _account(user, channel)
    if account.unlimited:
        raise ValidationFailed.single("channel", f"{channel} credit is unlimited for {user.email}: nothing to adjust.")
    with transaction.atomic():
        # The same guard as a debit: the conditional UPDATE never takes the balance below zero.
        updated = CreditAccount.objects.filter(pk=account.pk, balance__gte=max(0, -delta)).update(
            balance=F("balance") + delta, updated_at=timezone.now()
        )
        if updated:
            return CreditEntry.objects.create(account=account, delta=delta, reason=CreditEntry.Reason.ADJUST, note=note)
    balance = CreditAccount.objects.get(pk=account.pk).balance
    raise ValidationFailed.single(
        "delta", f"Cannot take {-delta} {channel} credits from {user.email}: the balance is {balance}, never below 0."
    )


def balances(user: User) -> dict[str, int]:
    """{"email": 10, "sms": -1 (unlimited), ...} for every channel."""
    accounts = {a.channel: a for a in CreditAccount.objects.filter(user=user)}
    return {
        ch: (UNLIMITED if accounts[ch].unlimited else accounts[ch].balance) if ch in accounts else 0 for ch in CHANNELS
    }


# ---------------------------------------------------------------- plans


@dataclass
class PlanInput:
    slug: str
    name: str
    email_credits: int = 0
    sms_credits: int = 0
    whatsapp_credits: int = 0
    rate_limit_per_minute: int = 60
    duration_days: int = 0


MAX_PLAN_NUMBER = 2_147_483_647  # the plan's integer columns


def create_plan(*, data: PlanInput) -> Plan:
    errors = []
    for channel in CHANNELS:
        if getattr(data, f"{channel}_credits") < UNLIMITED:
            errors.append({"field": f"{channel}_credits", "message": "Credits must be -1 (unlimited) or more."})
    if data.rate_limit_per_minute < 1:
        errors.append({"field": "rate_limit", "message": "Rate limit must be at least 1 request per minute."})
    for field in (*(f"{channel}_credits" for channel in CHANNELS), "rate_limit_per_minute", "duration_days"):
        if getattr(data, field) > MAX_PLAN_NUMBER:
            errors.append({"field": field, "message": f"At most {MAX_PLAN_NUMBER:,} (use -1 for unlimited credits)."})
    if not data.slug or not data.slug.replace("-", "").replace("_", "").isalnum():
        errors.append({"field": "slug", "message": "Slug may hold only letters, digits, '-' and '_'."})
    if Plan.objects.filter(slug=data.slug).exists():
        errors.append({"field": "slug", "message": f"A plan with slug {data.slug!r} already exists."})
    if errors:
        raise ValidationFailed(errors, message=errors[0]["message"])
    return Plan.objects.create(**data.__dict__)


def get_plan(slug: str) -> Plan:
    try:
        return Plan.objects.get(slug=slug)
    except Plan.DoesNotExist:
        raise NotFound(f"Unknown plan {slug!r}.") from None


@transaction.atomic
def assign_plan(*, user: User, plan: Plan) -> User:
    """Assigns `plan` and grants its credits through the ledger (-1 makes the channel unlimited)."""
    user.plan = plan
    user.plan_expires_at = timezone.now() + timedelta(days=plan.duration_days) if plan.duration_days else None
    user.save(update_fields=["plan", "plan_expires_at"])
    for channel in CHANNELS:
        grant = plan.grant_for(channel)
        account = _account(user, channel)
        if grant == UNLIMITED:
            CreditAccount.objects.filter(pk=account.pk).update(unlimited=True)
            continue
        if account.unlimited:
            CreditAccount.objects.filter(pk=account.pk).update(unlimited=False)
        if grant > 0:
            add_credits(user=user, channel=channel, amount=grant, reason=CreditEntry.Reason.PLAN, note=plan.slug)
    return user


def remove_plan(*, user: User) -> User:
    """Takes the plan away; the credits it granted stay (they were given through the ledger)."""
    user.plan, user.plan_expires_at = None, None
    user.save(update_fields=["plan", "plan_expires_at"])
    return user


# ---------------------------------------------------------------- users


def get_user(email: str) -> User:
    try:
        return User.objects.get(email__iexact=email.strip())
    except User.DoesNotExist:
        raise NotFound(f"Unknown user {email!r}.") from None


def check_new_user(*, email: str, password: str | None) -> None:
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed.single("email", f"{email!r} is not a valid email address.") from None
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailed.single("email", f"A user with email {email!r} already exists.")
    if password:
        try:
            validate_password(password)
        except DjangoValidationError as exc:
            raise ValidationFailed.single("password", " ".join(exc.messages)) from None


@transaction.atomic
def create_user(
    *, email: str, name: str = "", password: str | None = None, plan: Plan | None = None, admin: bool = False
) -> tuple[User, str]:
    """Creates a user (a superuser with `admin`), assigns `plan` and issues an API key. Returns (user, key)."""
    check_new_user(email=email, password=password)
    manager = User.objects
    create = manager.create_superuser if admin else manager.create_user
    try:
        user = create(email, password, name=name)
    except IntegrityError:
        raise ValidationFailed.single("email", f"A user with email {email!r} already exists.") from None
    for channel in CHANNELS:
        _account(user, channel)
    if plan is not None:
        assign_plan(user=user, plan=plan)
    _, raw_key = issue_api_key(user=user)
    return user, raw_key


def set_user_active(*, user: User, active: bool) -> User:
    """Suspends or reactivates `user`. A suspension works at once: their API keys answer 401 from the next request
    (authenticate_api_key reads is_active every time) and every panel session is signed out at its next request
    (end_sessions), so a later reactivation does not bring those sessions back."""
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            end_sessions(user=user)
    return user


def end_sessions(*, user: User) -> User:
    """Signs every session of `user` out at its next request (the session hash includes `session_epoch`). A view
    that keeps its own session calls django.contrib.auth.update_session_auth_hash afterwards."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    return user


def check_password_of(*, user: User, password: str) -> None:
    """Raises ValidationFailed (field "password") unless `password` is the user's current one."""
    if not password or not user.check_password(password):
        raise ValidationFailed.single("password", "Your current password is not right.")


def change_email(*, user: User, email: str, password: str) -> User:
    """Changes the sign-in address after the current password confirms it. Raises ValidationFailed."""
    check_password_of(user=user, password=password)
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed.single("email", "Enter a valid email address.") from None
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationFailed.single("email", "Another account uses this address.")
    user.email = email
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError:
        raise ValidationFailed.single("email", "Another account uses this address.") from None
    return user


def update_profile(*, user: User, name: str) -> User:
    name = name.strip()
    if len(name) > 150 or any(char in name for char in "\r\n\0"):
        raise ValidationFailed.single("name", "Name: up to 150 characters on one line.")
    user.name = name
    user.save(update_fields=["name"])
    return user


def set_user_password(*, user: User, password: str) -> User:
    """Sets a new password, checked by Django's validators (AUTH_PASSWORD_VALIDATORS). Every session opened with
    the old one is signed out at its next request (the session hash follows the password)."""
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed.single("new_password1", " ".join(exc.messages)) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


# ---------------------------------------------------------------- API keys


def hash_key(raw_key: str) -> str:
    # Keys carry 256 bits of randomness: a plain SHA-256 is enough (no dictionary to slow down).
    return hashlib.sha256(raw_key.encode()).hexdigest()


def check_key_name(name: str) -> str:
    """A key's name: 1 to 100 characters on one line (it is shown in lists and may end up in logs)."""
    name = (name or "").strip()
    if not name or len(name) > 100 or any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise ValidationFailed.single("name", "Name: 1 to 100 characters on one line.")
    return name


def issue_api_key(*, user: User, name: str = "default") -> tuple[ApiKey, str]:
    """Creates a key and returns it with its secret, which is not stored and cannot be shown again."""
    name = check_key_name(name)
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(user=user, name=name, prefix=prefix, hashed_key=hash_key(raw_key))
    return key, raw_key


def revoke_api_key(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def rename_api_key(*, key: ApiKey, name: str) -> ApiKey:
    key.name = check_key_name(name)
    key.save(update_fields=["name"])
    return key


@transaction.atomic
def rotate_api_key(*, user: User) -> tuple[ApiKey, str]:
    """Revokes every active key of `user` and issues a new one."""
    ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return issue_api_key(user=user)


def authenticate_api_key(raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key` of an active user, or None. Touches `last_used_at` (at most once a minute)."""
    if not raw_key.startswith(KEY_PREFIX) or raw_key.count("_") < 2:
        return None
    prefix = raw_key[len(KEY_PREFIX) :].split("_", 1)[0]
    key = key_with_owner(prefix)
    if key is None or not hmac.compare_digest(key.hashed_key, hash_key(raw_key)):
        return None
    if key.revoked_at is not None or not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def refund_many(*, user_id: int, channel: str, refunds: list[tuple[uuid.UUID, int]]) -> None:
    """Refunds several messages of one user at once: one balance update, one ledger entry per message."""
    refunds = [(uid, amount) for uid, amount in refunds if amount > 0]
    if not refunds:
        return
    account, _ = CreditAccount.objects.get_or_create(user_id=user_id, channel=channel)
    if account.unlimited:
        return
    with transaction.atomic():
        total = sum(amount for _, amount in refunds)
        CreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + total, updated_at=timezone.now())
        CreditEntry.objects.bulk_create(
            CreditEntry(account=account, delta=amount, reason=CreditEntry.Reason.REFUND, message_uid=uid)
            for uid, amount in refunds
        )


def upsert_plan(*, data: PlanInput, allowed_channels: list[str] | None = None, is_active: bool = True) -> Plan:
    """Creates the plan `data.slug` or updates it in place (used by settings import)."""
    existing = Plan.objects.filter(slug=data.slug).first()
    if existing is None:
        plan = create_plan(data=data)
    else:
        for key, value in data.__dict__.items():
            setattr(existing, key, value)
        existing.save()
        plan = existing
    plan.allowed_channels = allowed_channels if allowed_channels is not None else list(CHANNELS)
    plan.is_active = is_active
    plan.save(update_fields=["allowed_channels", "is_active"])
    return plan


def set_site_setting(*, key: str, value: object) -> SiteSetting:
    setting, _ = SiteSetting.objects.update_or_create(key=key, defaults={"value": value})
    return setting


# ---------------------------------------------------------------- two-factor sign-in (TOTP)


def start_totp(*, user: User) -> TOTPDevice:
    """A new authenticator for `user`, not yet confirmed (an earlier unconfirmed one is replaced): its otpauth URL
    goes into the QR code, and it counts only once confirm_totp accepted a code from it. Raises Conflict when one
    is already on."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise Conflict("Two-factor sign-in is already on: turn it off first to link another authenticator.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def confirm_totp(*, user: User, token: str) -> TOTPDevice:
    """Turns two-factor sign-in on once `token` is a current code of the authenticator start_totp made (the
    device's own throttling applies). Raises ValidationFailed (field "token")."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        raise ValidationFailed.single("token", "No authenticator is waiting for its first code: start again.")
    token = (token or "").replace(" ", "").strip()
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, _ = locked.verify_is_allowed()
        # verify_token records a failure on the device (its throttle): that write must commit, so no raise in here.
        accepted = allowed and token.isdigit() and locked.verify_token(token)
        if accepted:
            locked.confirmed = True
            locked.save(update_fields=["confirmed"])
    if not accepted:
        raise ValidationFailed.single("token", "That code is not right: enter the 6 digits your app shows now.")
    return locked


def disable_totp(*, user: User, password: str) -> None:
    """Turns two-factor sign-in off after the current password confirms it. Raises ValidationFailed."""
    check_password_of(user=user, password=password)
    TOTPDevice.objects.filter(user=user).delete()
