"""Campaigns sent at a time in each contact's time zone (docs/campaigns.md, "In each contact's time zone").

A campaign's `schedule_at` is an instant; read on the server's clock (settings.TIME_ZONE) it is a wall-clock time,
say 09:00 on 1 June. With `contact_time_zone`, each contact's message goes when the contact's own clock shows that
time (a contact without a zone, or with one the zone database no longer knows: the server's clock). The campaign
starts fanning out when the first zone on Earth reaches that time (UTC+14), so that every message is created and
Scheduled ahead of its moment; the scheduler releases each one when due (messaging.sweeps.release_scheduled), and
the campaign stays Sending while any of them waits (campaigns.fanout.finish_if_sent).

Wall-clock times a zone skips or repeats (daylight saving changes) follow zoneinfo's reading (fold 0): a time in
a skipped hour is taken with the offset before the change (02:30 on the night clocks go from 02:00 to 03:00 is
03:30), a repeated one is its first occurrence.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import DateTimeField, F, Func, Q, Value
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

EARLIEST_ZONE = "Etc/GMT-14"  # UTC+14 (the IANA name's sign is inverted): the first zone to reach any time
EARLIEST = ZoneInfo(EARLIEST_ZONE)


@lru_cache(maxsize=1024)
def _named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_of(name: str) -> tzinfo:
    """The time zone `name` (an IANA name), or the server's when empty or unknown."""
    return (_named(name) if name else None) or timezone.get_default_timezone()


def wall_time(at: datetime) -> datetime:
    """`at` as the server's clock shows it, without a zone (09:00 on 1 June)."""
    return timezone.localtime(at, timezone.get_default_timezone()).replace(tzinfo=None)


def local_moment(at: datetime, time_zone: str) -> datetime:
    """The instant the clock of `time_zone` (empty: the server's) shows the wall-clock time of `at`."""
    return wall_time(at).replace(tzinfo=zone_of(time_zone))


def starts_at(schedule_at: datetime | None, contact_time_zone: bool) -> datetime | None:
    """When a campaign scheduled at `schedule_at` starts fanning out: then, or with `contact_time_zone`, when the
    first zone (UTC+14) reaches its wall-clock time — up to 26 hours earlier, depending on the server's zone."""
    if schedule_at is None or not contact_time_zone:
        return schedule_at
    return min(schedule_at, wall_time(schedule_at).replace(tzinfo=EARLIEST))


def _fan_out_start() -> Func:
    """starts_at in SQL for a campaign row in each contact's time zone: its schedule_at read on the server's clock,
    that wall-clock time taken at UTC+14 (PostgreSQL's timezone(zone, …) both ways)."""
    wall = Func(Value(settings.TIME_ZONE), F("schedule_at"), function="timezone")
    return Func(Value(EARLIEST_ZONE), wall, function="timezone", output_field=DateTimeField())


def due(now: datetime) -> Q:
    """Campaigns whose fan-out is due at `now` (the scheduler's start_due): their time has come, or, sent in each
    contact's time zone, the first zone has reached it. One condition on the row, no query of its own."""
    return Q(contact_time_zone=False, schedule_at__lte=now) | Q(
        LessThanOrEqual(_fan_out_start(), Value(now, output_field=DateTimeField())), contact_time_zone=True
    )
