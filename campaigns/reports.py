"""A campaign's report: what became of its recipients' messages, read in SQL in a constant number of queries
(three, whatever the audience's size, with PostgreSQL's JIT off for them), and its CSV exports, streamed.
docs/campaigns.md ("Reports") defines every number; the statuses are the messages' own (messaging.transitions
moves them), joined through CampaignRecipient.message_uid."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.http import StreamingHttpResponse

from accounts.models import User
from campaigns.models import Campaign
from messaging.models import Status
from xsender.errors import NotFound
from xsender.spreadsheet import spreadsheet_safe

HOURLY = timedelta(hours=48)  # the timeline is per hour for this long after the start, then per day
LINKS_SHOWN = 100
EXPORT_CHUNK = 2000
S = Status
_LEFT = (S.SENT, S.DELIVERED, S.OPENED, S.CLICKED, S.BOUNCED, S.COMPLAINED)
_ARRIVED = (S.DELIVERED, S.OPENED, S.CLICKED, S.COMPLAINED)
_QUEUED = (S.SCHEDULED, S.PENDING, S.PROCESSING)


def _in(statuses: Sequence[str]) -> str:
    return "(" + ", ".join(f"'{s}'" for s in statuses) + ")"  # our own constants, never input


# Where a click event names its link: our own tracking's `url`, then the ESPs' raw events as anymail keeps them in
# `detail.esp_event` (SendGrid, Mandrill `url`; Mailgun `event-data.url`; Postmark `OriginalLink`; Amazon SES
# `click.link`; SparkPost `msys.track_event.target_link_url`; Brevo `link`). None of them: counted under "".
_CLICK_URL = """COALESCE(e.payload->>'url', e.payload#>>'{detail,url}', e.payload#>>'{detail,click_url}',
    e.payload#>>'{detail,esp_event,url}', e.payload#>>'{detail,esp_event,event-data,url}',
    e.payload#>>'{detail,esp_event,OriginalLink}', e.payload#>>'{detail,esp_event,click,link}',
    e.payload#>>'{detail,esp_event,msys,track_event,target_link_url}', e.payload#>>'{detail,esp_event,link}', '')"""

_SUMMARY = f"""
WITH r AS (
    SELECT cr.skipped, m.id AS mid, m.status, m.recipient, m.sent_at, m.delivered_at, m.opened_at, m.clicked_at
    FROM campaigns_campaignrecipient cr LEFT JOIN messaging_message m ON m.uid = cr.message_uid
    WHERE cr.campaign_id = %(campaign)s
)
SELECT
    count(*),
    count(*) FILTER (WHERE r.skipped <> ''),
    count(r.mid),
    count(*) FILTER (WHERE r.status IN {_in(_QUEUED)}),
    count(*) FILTER (WHERE r.sent_at IS NOT NULL OR r.delivered_at IS NOT NULL OR r.status IN {_in(_LEFT)}),
    count(*) FILTER (WHERE r.delivered_at IS NOT NULL OR r.status IN {_in(_ARRIVED)}),
    count(*) FILTER (WHERE r.opened_at IS NOT NULL OR r.clicked_at IS NOT NULL),
    count(*) FILTER (WHERE r.clicked_at IS NOT NULL),
    count(*) FILTER (WHERE r.status = '{S.BOUNCED}'),
    count(*) FILTER (WHERE r.status = '{S.COMPLAINED}'),
    count(*) FILTER (WHERE r.status = '{S.FAILED}'),
    count(*) FILTER (WHERE r.status = '{S.CANCELLED}'),
    count(*) FILTER (WHERE r.mid IS NOT NULL AND (
        EXISTS (SELECT 1 FROM messaging_messageevent e WHERE e.message_id = r.mid AND e.kind = 'unsubscribed')
        OR EXISTS (SELECT 1 FROM messaging_suppression s
                   WHERE s.channel = %(channel)s AND s.address IN (r.recipient, lower(r.recipient))
                   AND s.reason = 'opt_out' AND (s.user_id = %(owner)s OR s.user_id IS NULL)
                   AND s.created_at >= %(started)s))),
    (SELECT count(*) FROM messaging_messageevent e JOIN r ON e.message_id = r.mid WHERE e.kind = 'opened'),
    (SELECT count(*) FROM messaging_messageevent e JOIN r ON e.message_id = r.mid WHERE e.kind = 'clicked')
FROM r
"""  # noqa: S608 — constants only; values are parameters

_LINKS = f"""
SELECT {_CLICK_URL} AS url, count(DISTINCT e.message_id), count(*)
FROM campaigns_campaignrecipient cr
JOIN messaging_message m ON m.uid = cr.message_uid
JOIN messaging_messageevent e ON e.message_id = m.id AND e.kind = 'clicked'
WHERE cr.campaign_id = %(campaign)s
GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1 LIMIT {LINKS_SHOWN}
"""  # noqa: S608

_TIMELINE = f"""
WITH p AS (
    SELECT t.kind, t.at
    FROM campaigns_campaignrecipient cr
    JOIN messaging_message m ON m.uid = cr.message_uid,
    LATERAL (VALUES ('sent', m.sent_at), ('delivered', m.delivered_at),
                    ('opened', COALESCE(m.opened_at, m.clicked_at)), ('clicked', m.clicked_at),
                    ('bounced', CASE WHEN m.status = '{S.BOUNCED}' THEN m.failed_at END),
                    ('failed', CASE WHEN m.status = '{S.FAILED}' THEN m.failed_at END)) AS t(kind, at)
    WHERE cr.campaign_id = %(campaign)s AND t.at IS NOT NULL
)
SELECT CASE WHEN p.at < %(cut)s THEN date_trunc('hour', p.at)
            ELSE %(cut)s + floor(extract(epoch FROM p.at - %(cut)s) / 86400) * interval '1 day' END AS bucket,
       p.kind, count(*)
FROM p GROUP BY 1, 2 ORDER BY 1, 2
"""  # noqa: S608

COUNTS = (
    "targeted",
    "skipped",
    "messages",
    "queued",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "complained",
    "failed",
    "cancelled",
    "unsubscribed",
    "opens_total",
    "clicks_total",
)
SERIES = ("sent", "delivered", "opened", "clicked", "bounced", "failed")
# rate name → (numerator, denominator): engagement over delivered, delivery over sent, failures over messages.
RATES = {
    "delivery_rate": ("delivered", "sent"),
    "bounce_rate": ("bounced", "sent"),
    "open_rate": ("opened", "delivered"),
    "click_rate": ("clicked", "delivered"),
    "click_to_open_rate": ("clicked", "opened"),
    "unsubscribe_rate": ("unsubscribed", "delivered"),
    "complaint_rate": ("complained", "delivered"),
    "failure_rate": ("failed", "messages"),
}


@dataclass(frozen=True)
class LinkClicks:
    url: str  # "" when the click event did not name its link
    unique: int  # messages with a click on it
    total: int  # click events on it


@dataclass(frozen=True)
class Bucket:
    start: datetime
    hours: int  # 1 in the first 48 hours after the start, then 24
    counts: dict[str, int]  # SERIES name → messages that reached it in this bucket


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    counts: dict[str, int]
    links: list[LinkClicks] = field(default_factory=list)
    timeline: list[Bucket] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        counts = self.__dict__.get("counts", {})
        if name in counts:
            return counts[name]
        raise AttributeError(name)

    @property
    def rates(self) -> dict[str, float | None]:
        """Each of RATES as a fraction (0–1), None when its denominator is 0."""
        return ratios(self.counts, RATES)


def ratios(counts: Mapping[str, int], pairs: Mapping[str, Sequence[str]]) -> dict[str, float | None]:
    """name → counts[part] / counts[whole] for each `name: (part, whole, …)` of `pairs`, rounded to 4 places; None
    when the denominator is 0. The campaign report's rates and the panel's traffic report's."""
    return {
        name: round(counts[part] / counts[whole], 4) if counts[whole] else None
        for name, (part, whole, *_) in pairs.items()
    }


def _own(owner: User, campaign: Campaign) -> None:
    if campaign.owner_id != owner.pk:
        raise NotFound("Campaign not found.")


def _anchor(campaign: Campaign) -> datetime:
    start = campaign.started_at or campaign.created_at
    return start.replace(minute=0, second=0, microsecond=0)


def campaign_report(*, owner: User, campaign: Campaign) -> CampaignReport:
    """The report of `owner`'s `campaign`, in three queries (in a transaction of their own, or the caller's, with
    JIT off). Raises NotFound for another tenant's campaign."""
    _own(owner, campaign)
    cut = _anchor(campaign) + HOURLY
    params = {
        "campaign": campaign.pk,
        "channel": campaign.channel,
        "owner": campaign.owner_id,
        "started": campaign.started_at or campaign.created_at,
        "cut": cut,
    }
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # PostgreSQL's JIT would compile these aggregates over the whole audience on every report (their estimated
        # cost is far past jit_above_cost): ~190 ms of a 100,000-recipient report's ~750, more than it saves.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_SUMMARY, params)
        counts = dict(zip(COUNTS, cursor.fetchone(), strict=True))
        cursor.execute(_LINKS, params)
        links = [LinkClicks(url, unique, total) for url, unique, total in cursor.fetchall()]
        cursor.execute(_TIMELINE, params)
        rows = cursor.fetchall()
    return CampaignReport(campaign=campaign, counts=counts, links=links, timeline=_buckets(rows, cut))


def _buckets(rows: Iterable[tuple[datetime, str, int]], cut: datetime) -> list[Bucket]:
    by_start: dict[datetime, dict[str, int]] = {}
    for start, kind, n in rows:
        by_start.setdefault(start, dict.fromkeys(SERIES, 0))[kind] = n
    return [Bucket(start, 1 if start < cut else 24, counts) for start, counts in by_start.items()]


# ---------------------------------------------------------------- per-recipient outcomes

_OUTCOMES = """
SELECT cr.id, c.public_id, COALESCE(m.recipient, CASE WHEN %(channel)s = 'email' THEN c.email ELSE c.phone END),
       CASE WHEN m.id IS NOT NULL THEN m.status WHEN cr.skipped <> '' THEN 'Skipped' ELSE 'Waiting' END,
       m.sent_at, COALESCE(NULLIF(m.error, ''), cr.skipped)
FROM campaigns_campaignrecipient cr
JOIN contacts_contact c ON c.id = cr.contact_id
LEFT JOIN messaging_message m ON m.uid = cr.message_uid
WHERE cr.campaign_id = %(campaign)s AND cr.id > %(after)s
ORDER BY cr.id LIMIT %(limit)s
"""

OUTCOME_HEADER = ("contact", "address", "status", "sent_at", "error")


def recipient_outcomes(*, owner: User, campaign: Campaign, chunk: int = EXPORT_CHUNK) -> Iterator[tuple[Any, ...]]:
    """Each recipient of `owner`'s `campaign` as (contact public id, address, status, sent_at, error), in the
    audience's order, read `chunk` rows a query (keyset on the recipient's id): memory stays flat however large
    the audience. Status is the message's, or `Skipped` (with the reason as error) or `Waiting` (no message
    yet: not reached by the fan-out, or withdrawn by a pause). Raises NotFound for another tenant's campaign
    (at once, not on the first iteration)."""
    _own(owner, campaign)
    return _outcomes(campaign, chunk)


def _outcomes(campaign: Campaign, chunk: int) -> Iterator[tuple[Any, ...]]:
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                _OUTCOMES, {"campaign": campaign.pk, "channel": campaign.channel, "after": after, "limit": chunk}
            )
            rows = cursor.fetchall()
        for row in rows:
            yield row[1:]
        if len(rows) < chunk:
            return
        after = rows[-1][0]


# ---------------------------------------------------------------- CSV


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return spreadsheet_safe(value) if isinstance(value, str) else value


def csv_lines(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Each row as one CSV line (datetimes in ISO 8601, None as empty, texts a spreadsheet would run quoted)."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([_cell(v) for v in row])


def report_rows(report: CampaignReport) -> Iterator[tuple[Any, ...]]:
    """The report as CSV rows: section, name, value (and for links and the timeline, their columns)."""
    yield ("section", "name", "value", "extra")
    for name in COUNTS:
        yield ("count", name, report.counts[name], "")
    for name, rate in report.rates.items():
        part, whole = RATES[name]
        yield ("rate", name, "" if rate is None else rate, f"{part} / {whole}")
    for link in report.links:
        yield ("link", link.url, link.unique, link.total)
    for bucket in report.timeline:
        for kind in SERIES:
            yield ("timeline", kind, bucket.counts[kind], f"{bucket.start.isoformat()} +{bucket.hours}h")


def streamed_csv(rows: Iterable[Sequence[Any]], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def report_csv(*, owner: User, campaign: Campaign) -> StreamingHttpResponse:
    """The report of `owner`'s `campaign` as a CSV download. Raises NotFound for another tenant's campaign."""
    return streamed_csv(
        report_rows(campaign_report(owner=owner, campaign=campaign)), f"{campaign.public_id}-report.csv"
    )


def recipient_rows(*, owner: User, campaign: Campaign) -> Iterator[Sequence[Any]]:
    """The recipients CSV's rows: OUTCOME_HEADER, then recipient_outcomes. Raises NotFound for another tenant's
    campaign at once."""
    return _with_header(OUTCOME_HEADER, recipient_outcomes(owner=owner, campaign=campaign))


def recipients_csv(*, owner: User, campaign: Campaign) -> StreamingHttpResponse:
    """Every recipient's outcome as a streamed CSV download. Raises NotFound for another tenant's campaign."""
    return streamed_csv(recipient_rows(owner=owner, campaign=campaign), f"{campaign.public_id}-recipients.csv")


def _with_header(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield header
    yield from rows
