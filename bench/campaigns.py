"""A campaign at scale: its 100,000 messages materialised beside raw COPY, and their delivery beside API messages.

Run: `python -m bench.campaigns` (issue 13's size: 100,000 contacts in the audience) or `python -m bench.campaigns
--small` (a twentieth: checks that the bench works). Uses its own database (xsender_bench_campaigns) and Redis
db 13; writes bench/results/campaigns.json and the fan-out's profile to bench/results/campaigns-profile.txt.

Setup: one tenant with ~105,000 contacts generated in SQL (a text custom field, City), in two overlapping lists,
one in fifty unsubscribed and one in seventy on the tenant's suppression list; an email template with
placeholders (first name, the custom field, the unsubscribe URL) in its subject, HTML (three links, tracked)
and text; two SMTP gateways of the tenant (one for the campaign, one for the API messages) into a local sink
(tests.fakes.smtp, its own process).

Measured, in one run:
- raw COPY (the baseline): 100,000 message rows of the campaign's shape (the rendered subject, HTML body and
  List-Unsubscribe of a real recipient) into messaging_message, the columns and statement of
  messaging.bulk.insert_messages, the data formatted before the clock starts (best of 2);
- the campaign's start (campaigns.services.start_campaign: the audience resolved into its recipients), then
  the fan-out: campaigns.fanout.send_chunk called in this process until it returns 0, as the job does
  (campaigns.jobs.fan_out_job) — messages/s and the ratio to COPY; SQL statements and Redis round trips of the
  first chunk and a late one;
- the same fan-out in LANES lanes, one process each (what LANES workers run for one campaign: its lane jobs,
  campaigns.jobs), for a second campaign to the same audience — messages/s and the ratio to COPY;
- delivery per worker: the campaign's messages and as many API-accepted messages of the same content
  (messaging.services.accept_messages, 1,000 per call) drained by messaging.delivery.drain_gateway in this
  process, slice after slice (what one worker's drain job runs), each gateway in turn, two rounds;
- cProfile of 10 chunks of a second campaign to the same audience.
"""

from __future__ import annotations

import cProfile
import io
import json
import multiprocessing
import os
import pstats
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

os.environ.setdefault("BENCH_DB", "xsender_bench_campaigns")
os.environ.setdefault("BENCH_REDIS", "redis://127.0.0.1:6379/13")

from bench.__main__ import ROOT, recreate_database  # noqa: E402
from bench.accept import _port  # noqa: E402  (a free loopback port, as the other benches take it)
from bench.deliver import _wait_port  # noqa: E402

DELIVER = 6000  # messages drained per kind per round
LANES = 2  # lanes of the fan-out measured in as many processes (one per core of this machine)
PROFILE_CHUNKS = 10
DATA_SQL = """
INSERT INTO contacts_contact (public_id, owner_id, email, phone, first_name, last_name, company, custom, email_status,
    sms_status, whatsapp_status, created_at, updated_at)
SELECT 'contact_' || substr(md5(g::text), 1, 22), @owner, 'p' || g || '@example.com', '', 'First' || g,
    'Last' || g, 'Acme', jsonb_build_object('@city', (ARRAY['Paris', 'Lyon', 'Berlin', 'Austin'])[1 + g % 4]),
    CASE WHEN g % 50 = 0 THEN 'unsubscribed' ELSE 'subscribed' END, 'subscribed', 'subscribed', now(), now()
FROM generate_series(1, @contacts) g;
INSERT INTO contacts_contact_lists (contact_id, contactlist_id)
SELECT id, @customers FROM contacts_contact WHERE owner_id = @owner AND id - @base < @first_list;
INSERT INTO contacts_contact_lists (contact_id, contactlist_id)
SELECT id, @newsletter FROM contacts_contact WHERE owner_id = @owner AND id - @base >= @second_from;
INSERT INTO messaging_suppression (user_id, channel, address, reason, created_at)
SELECT @owner, 'email', email, 'bounce', now() FROM contacts_contact WHERE owner_id = @owner AND id % 70 = 0;
VACUUM ANALYZE;
"""
SUBJECT = 'Hi {{ first_name|default:"there" }}, news for {{ custom.City }}'
HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Spring news</title></head>
<body style="font-family: sans-serif">
<h1>Hello {{ first_name }} {{ last_name }}</h1>
<p>Our spring collection has arrived in {{ custom.City|default:"your city" }}. {{ company }} customers get early
access this week: the new range, free delivery over 50 EUR and returns within 60 days.</p>
<p><a href="https://shop.example.com/spring?utm_source=newsletter">See the collection</a> or
<a href="https://shop.example.com/stores">find a store near you</a>.</p>
<p>Questions? <a href="https://help.example.com/">Our help centre</a> answers within a day.</p>
<hr>
<p style="font-size: small">You receive this because you subscribed as {{ email }}.
<a href="{{ unsubscribe_url }}">Unsubscribe</a>.</p>
</body></html>
"""
TEXT = """Hello {{ first_name }} {{ last_name }},

Our spring collection has arrived in {{ custom.City|default:"your city" }}: https://shop.example.com/spring

Unsubscribe: {{ unsubscribe_url }}
"""


# ---------------------------------------------------------------- setup


def setup(contacts: int, smtp_port: int) -> dict[str, Any]:
    """The tenant (10,000,000 email credits), its gateways, custom field, lists, contacts and template."""
    from django.db import connection

    from accounts import services as accounts
    from campaigns.services import create_template
    from contacts import services
    from gateways.services import add_gateway

    plan = accounts.create_plan(
        data=accounts.PlanInput(slug="bench", name="Bench", email_credits=10_000_000, rate_limit_per_minute=100_000)
    )
    owner, _ = accounts.create_user(email="tenant@example.com", name="Tenant", plan=plan)
    config = {"host": "127.0.0.1", "port": smtp_port, "use_tls": False, "from_email": "news@example.com"}
    for identifier in ("bench-campaign", "bench-api"):
        add_gateway(owner=owner, channel="email", provider="smtp", identifier=identifier, config=config)
    city = services.create_custom_field(owner=owner, name="City", type="text")
    customers = services.create_list(owner=owner, name="Customers")
    newsletter = services.create_list(owner=owner, name="Newsletter")
    params = {
        "owner": owner.pk, "city": city.public_id, "contacts": contacts, "customers": customers.pk,
        "newsletter": newsletter.pk, "base": "(SELECT min(id) FROM contacts_contact)", "first_list": contacts * 60 // 105,
        "second_from": contacts * 40 // 105,
    }  # fmt: skip
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in filter(str.strip, DATA_SQL.split(";")):
            for name, value in params.items():  # our own values; no parameters, so `%` stays SQL's modulo
                statement = statement.replace(f"@{name}", str(value))
            cursor.execute(statement)
    template = create_template(
        owner=owner, channel="email", name="Spring", subject=SUBJECT, html=HTML, text=TEXT, from_name="Acme Shop"
    )
    return {
        "owner": owner,
        "lists": [customers.public_id, newsletter.public_id],
        "template": template,
        "load_seconds": round(time.perf_counter() - started, 1),
    }


def new_campaign(setup_: dict[str, Any], name: str) -> Any:
    from campaigns.services import create_campaign

    return create_campaign(
        owner=setup_["owner"],
        channel="email",
        name=name,
        template=setup_["template"].public_id,
        gateway_identifier="bench-campaign",
        include_lists=setup_["lists"],
    )


def sample_item(campaign: Any) -> Any:
    """The EmailItem of the campaign's first recipient, as the fan-out builds it (rendered and tracked)."""
    from campaigns import fanout
    from campaigns.models import CampaignRecipient
    from contacts.models import Contact
    from contacts.selectors import contact_data, custom_field_names

    recipient = CampaignRecipient.objects.filter(campaign=campaign).order_by("position").first()
    contact = Contact.objects.get(pk=recipient.contact_id)
    names = custom_field_names(owner=campaign.owner)
    return fanout._item(campaign, contact_data(contact, names), recipient)


# ---------------------------------------------------------------- raw COPY


def _text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_rate(owner: Any, item: Any, rows: int) -> dict[str, float]:
    """COPY of `rows` message rows shaped like `item` into messaging_message, as messaging.bulk.insert_messages
    writes them (ids taken from the table's sequence first, the same columns); the rows are formatted before the
    clock starts. Best of 2; the table is emptied after each."""
    from django.db import connection
    from django.utils import timezone

    from gateways.models import Gateway
    from messaging.bulk import INSERT_COLUMNS, JSON_COLUMNS, new_message

    gateway = Gateway.objects.get(identifier="bench-campaign")
    now = timezone.now()
    shape = new_message(
        {
            "uid": None, "user_id": owner.pk, "channel": "email", "gateway_id": gateway.pk, "recipient": "",
            "subject": item.subject, "body": item.body, "sender_name": item.sender_name, "reply_to": item.reply_to,
            "list_unsubscribe": item.list_unsubscribe, "text_body": getattr(item, "text", ""), "status": "Pending",
            "priority": 0, "cost": 1, "source": "campaign", "attachments": [], "created_at": now, "queued_at": now, "updated_at": now,
        }
    )  # fmt: skip
    constant = {}
    for column in INSERT_COLUMNS:  # the value each column of the row gets, as insert_messages writes it
        value = getattr(shape, column)
        constant[column] = _text(json.dumps(value) if column in JSON_COLUMNS and value is not None else value)
    timings = []
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute("SELECT nextval('messaging_message_id_seq') FROM generate_series(1, %s)", [rows])
            ids = [pk for (pk,) in cursor.fetchall()]
            lines = []
            for n, pk in enumerate(ids):
                row = {**constant, "uid": str(uuid.uuid4()), "recipient": f"p{n}@example.com"}
                lines.append("\t".join([str(pk), *(row[column] for column in INSERT_COLUMNS)]))
            data = "\n".join(lines) + "\n"
            started = time.perf_counter()
            with cursor.cursor.copy(f"COPY messaging_message (id, {', '.join(INSERT_COLUMNS)}) FROM STDIN") as copy:
                copy.write(data)
            timings.append(time.perf_counter() - started)
            cursor.execute("TRUNCATE messaging_message CASCADE")
    elapsed = min(timings)
    return {"rows": rows, "seconds": round(elapsed, 3), "rows_per_s": rows / elapsed}


# ---------------------------------------------------------------- the fan-out


class RedisCalls:
    """Counts round trips to Redis (one per command sent, one per pipeline) while it is entered."""

    def __enter__(self) -> RedisCalls:
        from redis.connection import AbstractConnection

        self.count, self._original, self._class = 0, AbstractConnection.send_packed_command, AbstractConnection
        counter = self

        def send(connection: Any, command: Any, check_health: bool = True) -> None:
            counter.count += 1
            counter._original(connection, command, check_health)

        AbstractConnection.send_packed_command = send
        return self

    def __exit__(self, *exc: Any) -> None:
        self._class.send_packed_command = self._original


def counted_chunk(campaign_id: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from campaigns.fanout import send_chunk

    with CaptureQueriesContext(connection) as queries, RedisCalls() as redis:
        settled = send_chunk(campaign_id=campaign_id)
    return {
        "settled": settled,
        "sql": len(queries.captured_queries),
        "redis": redis.count,
        "statements": [q["sql"][:90] for q in queries.captured_queries],
    }


def settled_tables() -> None:
    """What the run so far left (dead rows, stale statistics) vacuumed before the next fan-out is measured, so
    that autovacuum does not start in the middle of one measurement and not of another."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_message, campaigns_campaignrecipient, contacts_contact")


def fan_out(campaign: Any, late_chunk: int) -> dict[str, Any]:
    """start_campaign, then send_chunk until it returns 0; chunk 1 and chunk `late_chunk` counted."""
    from campaigns.fanout import send_chunk
    from campaigns.models import Campaign
    from campaigns.services import start_campaign

    started = time.perf_counter()
    campaign = start_campaign(campaign=campaign)
    start_seconds = time.perf_counter() - started
    settled_tables()
    print(f"  start: {campaign.recipients_count:,} recipients in {start_seconds:.2f} s", flush=True)
    counts, chunk_times, number = {}, [], 0
    started = time.perf_counter()
    while True:
        number += 1
        at = time.perf_counter()
        if number in (1, late_chunk):
            counts[number] = counted_chunk(campaign.pk)
            settled = counts[number]["settled"]
        else:
            settled = send_chunk(campaign_id=campaign.pk)
        chunk_times.append(time.perf_counter() - at)
        if not settled:
            break
    seconds = time.perf_counter() - started
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert campaign.messages_count + campaign.skipped_count == campaign.recipients_count, campaign.last_error
    full = sorted(chunk_times[:-1])
    return {
        "recipients": campaign.recipients_count,
        "messages": campaign.messages_count,
        "skipped": campaign.skipped_count,
        "start_seconds": round(start_seconds, 2),
        "fanout_seconds": round(seconds, 2),
        "chunks": number - 1,
        "chunk_ms": {
            "p50": round(statistics.median(full) * 1000, 1),
            "max": round(full[-1] * 1000, 1),
            "first": round(chunk_times[0] * 1000, 1),
            "last_full": round(chunk_times[-3] * 1000, 1),
        },
        "messages_per_s": campaign.messages_count / seconds,
        "with_start_messages_per_s": campaign.messages_count / (seconds + start_seconds),
        "counted_chunks": {str(k): v for k, v in counts.items()},
    }


def _lane(campaign_id: int, lane: int, lanes: int, out: Any) -> None:
    """One lane's fan-out job, in a process of its own, until no recipient is left to it (nor to steal)."""
    from django.db import connections

    from campaigns.fanout import send_chunk

    settled = 0
    while done := send_chunk(campaign_id=campaign_id, lane=lane, lanes=lanes):
        settled += done
    connections.close_all()
    out.put(settled)


def fan_out_lanes(campaign: Any, lanes: int) -> dict[str, Any]:
    """start_campaign, then `lanes` processes each running one lane until nothing is left; wall time from the
    processes' start (fork) to the last one's end."""
    from django.db import connections

    from campaigns.models import Campaign
    from campaigns.services import start_campaign

    campaign = start_campaign(campaign=campaign)
    settled_tables()
    connections.close_all()  # each process opens its own
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    started = time.perf_counter()
    processes = [context.Process(target=_lane, args=(campaign.pk, lane, lanes, out)) for lane in range(lanes)]
    for process in processes:
        process.start()
    settled = [out.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    seconds = time.perf_counter() - started
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert campaign.messages_count + campaign.skipped_count == campaign.recipients_count, campaign.last_error
    assert sum(settled) == campaign.recipients_count  # every recipient settled once, by one lane or the other
    return {
        "lanes": lanes,
        "messages": campaign.messages_count,
        "seconds": round(seconds, 2),
        "settled_per_lane": settled,
        "messages_per_s": campaign.messages_count / seconds,
    }


def profile(setup_: dict[str, Any]) -> tuple[str, float]:
    """cProfile of PROFILE_CHUNKS chunks of a second campaign to the same audience; (top of the profile, ms/chunk)."""
    from campaigns.fanout import send_chunk
    from campaigns.services import start_campaign

    campaign = start_campaign(campaign=new_campaign(setup_, "Profiled"))
    send_chunk(campaign_id=campaign.pk)  # warm
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(PROFILE_CHUNKS):
        send_chunk(campaign_id=campaign.pk)
    profiler.disable()
    per_chunk = (time.perf_counter() - started) * 1000 / PROFILE_CHUNKS
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(45)
    return out.getvalue(), per_chunk


# ---------------------------------------------------------------- delivery per worker


def accept_api(owner: Any, item: Any, count: int) -> float:
    """`count` API messages of `item`'s content on the API gateway, 1,000 per accept; returns the seconds."""
    from messaging.items import EmailItem
    from messaging.services import accept_messages

    started = time.perf_counter()
    for offset in range(0, count, 1000):
        items = [
            EmailItem(
                recipient=f"api{n}@example.com",
                subject=item.subject,
                body=item.body,
                text=item.text,
                sender_name=item.sender_name,
                list_unsubscribe=item.list_unsubscribe,
                gateway="bench-api",
            )
            for n in range(offset, min(count, offset + 1000))
        ]
        accept_messages(principal=owner, channel="email", items=items)
    return time.perf_counter() - started


def drain(identifier: str, count: int) -> dict[str, float]:
    """Drains gateway `identifier` slice after slice (XSENDER_DRAIN_SLICE_SECONDS) until `count` were sent."""
    from gateways.models import Gateway
    from messaging.delivery import drain_gateway

    gateway = Gateway.objects.get(identifier=identifier)
    sent, started = 0, time.perf_counter()
    while sent < count:
        outcome = drain_gateway(gateway_id=gateway.pk, gateway=gateway)
        assert outcome.stopped is None, outcome.stopped
        assert outcome.sent or outcome.more, f"{identifier} ran dry at {sent}"
        sent += outcome.sent
    seconds = time.perf_counter() - started
    return {"sent": sent, "seconds": round(seconds, 2), "per_s": sent / seconds}


def delivery(owner: Any, item: Any, rounds: int = 2) -> dict[str, Any]:
    from messaging.delivery import close_pools

    accept_seconds = accept_api(owner, item, DELIVER * rounds + 1000)
    settled_tables()  # as before each fan-out: no autovacuum of the fan-outs' rows inside one kind's drain only
    out: dict[str, Any] = {"per_round": [], "api_accept_seconds": round(accept_seconds, 2)}
    try:
        for _ in range(rounds):
            campaign, api = drain("bench-campaign", DELIVER), drain("bench-api", DELIVER)
            out["per_round"].append({"campaign": campaign, "api": api})
            print(f"  deliver: campaign {campaign['per_s']:,.0f}/s, API {api['per_s']:,.0f}/s", flush=True)
    finally:
        close_pools()
    for kind in ("campaign", "api"):
        rows = [r[kind] for r in out["per_round"]]
        out[kind] = sum(r["sent"] for r in rows) / sum(r["seconds"] for r in rows)
    out["campaign_vs_api"] = out["campaign"] / out["api"]
    return out


# ---------------------------------------------------------------- the run


def main() -> None:
    global DELIVER  # noqa: PLW0603 — --small shrinks the run
    small = "--small" in sys.argv
    contacts = 105_000 // (20 if small else 1)
    DELIVER //= 10 if small else 1
    recreate_database()
    import django

    django.setup()
    from xsender.redis import get_redis
    from xsender.startup import settle

    settle()  # what xsender:worker does once Django is set up: the fan-out below runs as in a worker's process

    get_redis().flushdb()
    port = _port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.smtp", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        _wait_port(port)
        results = run(contacts, port)
    finally:
        sink.terminate()
        sink.wait()
        get_redis().flushdb()
    print(report(results))


def run(contacts: int, port: int) -> dict[str, Any]:
    print(f"Setting up {contacts:,} contacts…", flush=True)
    setup_ = setup(contacts, port)
    campaign = new_campaign(setup_, "Spring")
    # The COPY's rows take their shape from a real recipient's message: resolve the audience of a throwaway
    # campaign for one rendered sample (the measured campaign starts from nothing below).
    from campaigns import fanout

    sample = new_campaign(setup_, "Sample")
    fanout.resolve_audience(sample)
    item = sample_item(sample)
    sample.recipients.all().delete()
    rows = 100_000 if contacts >= 100_000 else contacts
    copy = copy_rate(setup_["owner"], item, rows)
    print(f"  raw COPY: {copy['rows_per_s']:,.0f} rows/s ({rows:,} rows)", flush=True)
    late = max(2, (contacts * 9 // 10) // 1000)
    fan = fan_out(campaign, late)
    fan["vs_copy"] = fan["messages_per_s"] / copy["rows_per_s"]
    fan["with_start_vs_copy"] = fan["with_start_messages_per_s"] / copy["rows_per_s"]
    print(f"  fan-out: {fan['messages_per_s']:,.0f} messages/s = {fan['vs_copy']:.1%} of COPY", flush=True)
    lanes = fan_out_lanes(new_campaign(setup_, "Lanes"), LANES)
    lanes["vs_copy"] = lanes["messages_per_s"] / copy["rows_per_s"]
    lanes["vs_one_lane"] = lanes["messages_per_s"] / fan["messages_per_s"]
    print(f"  fan-out in {LANES} lanes: {lanes['messages_per_s']:,.0f} messages/s = {lanes['vs_copy']:.1%} of COPY",
          flush=True)  # fmt: skip
    sent = delivery(setup_["owner"], item)
    top, per_chunk = profile(setup_)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "campaigns-profile.txt").write_text(top)
    results = {
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()},
        "contacts": contacts,
        "load_seconds": setup_["load_seconds"],
        "message_bytes": len(item.body),
        "copy": copy,
        "fanout": fan,
        "fanout_lanes": lanes,
        "deliver": sent,
        "profiled_ms_per_chunk": round(per_chunk, 1),
    }
    (out / "campaigns.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def report(r: dict[str, Any]) -> str:
    f, c, d, lanes = r["fanout"], r["copy"], r["deliver"], r["fanout_lanes"]
    counted = f["counted_chunks"]
    lines = [
        f"{r['contacts']:,} contacts (loaded in {r['load_seconds']} s); messages of {r['message_bytes']:,} bytes",
        "",
        f"{'what':<52} {'count':>9} {'seconds':>8} {'per s':>9} {'vs COPY':>8}",
        f"{'raw COPY of message rows (best of 2)':<52} {c['rows']:>9,} {c['seconds']:>8} {c['rows_per_s']:>9,.0f}",
        f"{'campaign start (audience → recipients)':<52} {f['recipients']:>9,} {f['start_seconds']:>8}",
        f"{'fan-out (send_chunk until 0)':<52} {f['messages']:>9,} {f['fanout_seconds']:>8} "
        f"{f['messages_per_s']:>9,.0f} {f['vs_copy']:>8.1%}",
        f"{'fan-out in ' + str(lanes['lanes']) + ' lanes, one process each':<52} {lanes['messages']:>9,} "
        f"{lanes['seconds']:>8} {lanes['messages_per_s']:>9,.0f} {lanes['vs_copy']:>8.1%}  "
        f"({lanes['vs_one_lane']:.2f}x one lane)",
        f"{'start + fan-out':<52} {f['messages']:>9,} {f['start_seconds'] + f['fanout_seconds']:>8.2f} "
        f"{f['with_start_messages_per_s']:>9,.0f} {f['with_start_vs_copy']:>8.1%}",
        "",
        f"chunks: {f['chunks']} (ms: p50 {f['chunk_ms']['p50']}, max {f['chunk_ms']['max']}, first "
        f"{f['chunk_ms']['first']}, last full {f['chunk_ms']['last_full']}); skipped {f['skipped']}",
    ]
    lines += [
        f"chunk {n}: {v['sql']} SQL statements, {v['redis']} Redis round trips" for n, v in sorted(counted.items())
    ]
    lines += [
        "",
        f"delivery, one in-process drain loop (SMTP sink): campaign {d['campaign']:,.0f}/s, API {d['api']:,.0f}/s, "
        f"campaign / API = {d['campaign_vs_api']:.1%}",
        f"profiled: {r['profiled_ms_per_chunk']} ms a chunk under cProfile (bench/results/campaigns-profile.txt)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
