"""manage.py xsender:campaign:list|start|schedule|pause|resume|cancel|report and xsender:sender:add|list|remove|resend:
the tenant named by --user, its campaigns and senders by public id (another tenant's id, a malformed one and a
missing one are all "not found", as in the panel), the services' own errors, and nothing changed on error."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import services as accounts
from accounts.models import CreditEntry
from campaigns import jobs, reports, senders, services
from campaigns.models import Campaign, CampaignStatus, Sender
from messaging.models import Message, Status
from tests.campaigns.conftest import campaign_messages
from xsender.errors import NotFound

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/senders/confirm/([\w-]+)/")


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def text(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def as_(tenant) -> tuple[str, str]:
    return ("--user", tenant.user.email)


def balance(campaign: Campaign) -> int:
    return accounts.balances(campaign.owner)[campaign.channel]


def ledger(campaign: Campaign) -> list[tuple[int, str]]:
    entries = CreditEntry.objects.filter(account__user=campaign.owner, account__channel=campaign.channel)
    return list(entries.order_by("pk").values_list("delta", "note"))


def reload(campaign: Campaign) -> Campaign:
    return Campaign.objects.get(pk=campaign.pk)


# ---------------------------------------------------------------- campaigns: list


def test_list_shows_the_tenants_campaigns_with_their_numbers(alice, bob, campaign, template):
    services.start_campaign(campaign=campaign)
    services.create_campaign(owner=alice.user, channel="email", name="Draft", template=template.public_id)
    listed = run("xsender:campaign:list", *as_(alice))["campaigns"]
    assert [(c["name"], c["status"]) for c in listed] == [("Draft", "draft"), ("Spring", "sending")]
    spring = listed[1]
    assert (spring["id"], spring["channel"], spring["recipients"], spring["messages"]) == (
        campaign.public_id,
        "email",
        6,
        0,
    )
    assert (spring["cost"], spring["reserved"], spring["schedule_at"]) == (0, 6, None)
    assert run("xsender:campaign:list", *as_(bob))["campaigns"] == []


def test_list_filters_by_status_and_prints_one_line_each(alice, campaign, template):
    services.create_campaign(owner=alice.user, channel="email", name="Other", template=template.public_id)
    services.start_campaign(campaign=campaign)
    assert [c["name"] for c in run("xsender:campaign:list", *as_(alice), "--status", "sending")["campaigns"]] == [
        "Spring"
    ]
    (line,) = text("xsender:campaign:list", *as_(alice), "--status", "sending").splitlines()
    assert line.startswith(campaign.public_id) and "recipients 6, messages 0, cost 0, reserved 6" in line


def test_list_of_an_unknown_user_says_so(db):
    with pytest.raises(CommandError, match=r"^Unknown user 'nobody@example.com'\.$"):
        run("xsender:campaign:list", "--user", "nobody@example.com")


def test_list_refuses_an_unknown_status(alice):
    with pytest.raises(CommandError, match="invalid choice: 'done'"):
        run("xsender:campaign:list", *as_(alice), "--status", "done")


# ---------------------------------------------------------------- campaigns: start, schedule


def test_start_reserves_the_whole_audience_in_one_ledger_entry_and_queues_the_fan_out(alice, campaign):
    before = ledger(campaign)
    started = run("xsender:campaign:start", campaign.public_id, *as_(alice))["campaign"]
    assert (started["status"], started["recipients"], started["reserved"]) == ("sending", 6, 6)
    assert ledger(campaign)[len(before) :] == [(-6, "Campaign Spring: 6 email credits reserved for 6 recipients")]
    jobs.fan_out_job(campaign.pk)
    assert campaign_messages(campaign).count() == 6


def test_start_short_of_credit_names_the_shortfall_and_changes_nothing(alice, campaign):
    accounts.adjust_credits(user=alice.user, channel="email", delta=-96)  # 4 left, 6 needed
    before = ledger(campaign)
    with pytest.raises(CommandError, match="6 needed for 6 recipients, 4 available — 2 short"):
        run("xsender:campaign:start", campaign.public_id, *as_(alice))
    assert (reload(campaign).status, ledger(campaign), balance(campaign)) == (CampaignStatus.DRAFT, before, 4)
    assert not campaign.recipients.exists()


def test_start_without_an_audience_says_what_to_choose(alice, gateways, template):
    empty = services.create_campaign(owner=alice.user, channel="email", name="Empty", template=template.public_id)
    with pytest.raises(CommandError, match=r"^Choose at least one list, tag or segment to send to\.$"):
        run("xsender:campaign:start", empty.public_id, *as_(alice))
    assert reload(empty).status == CampaignStatus.DRAFT


def test_starting_twice_is_refused_and_reserves_nothing_more(alice, campaign):
    run("xsender:campaign:start", campaign.public_id, *as_(alice))
    before = ledger(campaign)
    with pytest.raises(CommandError, match=r"^The campaign is sending: it cannot be started\.$"):
        run("xsender:campaign:start", campaign.public_id, *as_(alice))
    assert (ledger(campaign), balance(campaign)) == (before, 94)


def test_schedule_reads_the_time_on_the_servers_clock_and_reserves_nothing_yet(alice, campaign, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    before = ledger(campaign)
    at = f"{timezone.now().year + 1}-06-01 09:00:00"
    scheduled = run("xsender:campaign:schedule", campaign.public_id, *as_(alice), "--at", at)["campaign"]
    campaign = reload(campaign)
    assert (scheduled["status"], campaign.status) == ("scheduled", CampaignStatus.SCHEDULED)
    assert campaign.schedule_at == datetime(timezone.now().year + 1, 6, 1, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert (ledger(campaign), campaign.reserved) == (before, 0)


def test_schedule_at_a_time_already_past_starts_the_campaign_now(alice, campaign):
    past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert text("xsender:campaign:schedule", campaign.public_id, *as_(alice), "--at", past).startswith(
        f"Campaign {campaign.public_id} “Spring” started."
    )
    assert (reload(campaign).status, reload(campaign).reserved) == (CampaignStatus.SENDING, 6)


def test_schedule_refuses_a_time_it_cannot_read(alice, campaign):
    with pytest.raises(CommandError, match="'next friday' is not a date and time: write Y-m-d H:i:s"):
        run("xsender:campaign:schedule", campaign.public_id, *as_(alice), "--at", "next friday")
    assert reload(campaign).status == CampaignStatus.DRAFT


def test_schedule_short_of_credit_names_the_shortfall_and_stays_a_draft(alice, campaign):
    accounts.adjust_credits(user=alice.user, channel="email", delta=-96)
    ahead = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    with pytest.raises(CommandError, match="2 short"):
        run("xsender:campaign:schedule", campaign.public_id, *as_(alice), "--at", ahead)
    assert (reload(campaign).status, reload(campaign).schedule_at) == (CampaignStatus.DRAFT, None)


# ---------------------------------------------------------------- campaigns: pause, resume, cancel


def test_pause_withdraws_the_queued_messages_and_resume_sends_them_again(alice, campaign, audience):
    run("xsender:campaign:start", campaign.public_id, *as_(alice))
    jobs.fan_out_job(campaign.pk)
    paused = run("xsender:campaign:pause", campaign.public_id, *as_(alice))["campaign"]
    assert (paused["status"], paused["messages"], balance(campaign)) == ("paused", 0, 100)
    assert set(Message.objects.values_list("status", flat=True)) == {Status.CANCELLED}
    resumed = run("xsender:campaign:resume", campaign.public_id, *as_(alice))["campaign"]
    jobs.fan_out_job(campaign.pk)
    live = campaign_messages(campaign).exclude(status=Status.CANCELLED)
    assert (resumed["status"], resumed["reserved"], balance(campaign)) == ("sending", 6, 94)
    assert sorted(live.values_list("recipient", flat=True)) == sorted(audience.expected)


def test_pausing_a_draft_is_refused_and_changes_nothing(alice, campaign):
    before = ledger(campaign)
    with pytest.raises(CommandError, match=r"^Only a sending campaign can be paused; this one is draft\.$"):
        run("xsender:campaign:pause", campaign.public_id, *as_(alice))
    assert (reload(campaign).status, ledger(campaign)) == (CampaignStatus.DRAFT, before)


def test_resuming_a_sending_campaign_is_refused(alice, campaign):
    run("xsender:campaign:start", campaign.public_id, *as_(alice))
    with pytest.raises(CommandError, match=r"^Only a paused campaign can be resumed; this one is sending\.$"):
        run("xsender:campaign:resume", campaign.public_id, *as_(alice))
    assert (reload(campaign).status, reload(campaign).reserved) == (CampaignStatus.SENDING, 6)


def test_cancel_refunds_the_unsent_messages_and_the_reservation(alice, campaign):
    run("xsender:campaign:start", campaign.public_id, *as_(alice))
    jobs.fan_out_job(campaign.pk)
    cancelled = run("xsender:campaign:cancel", campaign.public_id, *as_(alice))["campaign"]
    assert (cancelled["status"], cancelled["reserved"], cancelled["cost"]) == ("cancelled", 0, 0)
    assert balance(campaign) == 100
    assert set(campaign_messages(campaign).values_list("status", flat=True)) == {Status.CANCELLED}


def test_cancelling_twice_is_refused_and_refunds_nothing_more(alice, campaign):
    run("xsender:campaign:start", campaign.public_id, *as_(alice))
    run("xsender:campaign:cancel", campaign.public_id, *as_(alice))
    before = ledger(campaign)
    with pytest.raises(CommandError, match=r"^The campaign is already cancelled\.$"):
        run("xsender:campaign:cancel", campaign.public_id, *as_(alice))
    assert (ledger(campaign), balance(campaign)) == (before, 100)


ACTIONS = [
    ("xsender:campaign:start",),
    ("xsender:campaign:pause",),
    ("xsender:campaign:resume",),
    ("xsender:campaign:cancel",),
    ("xsender:campaign:schedule", "--at", "2099-01-01 09:00"),
    ("xsender:campaign:report",),
]


@pytest.mark.parametrize("command", ACTIONS, ids=lambda c: c[0].rsplit(":", 1)[1])
def test_another_tenants_campaign_is_not_found_and_left_alone(bob, campaign, command):
    before = ledger(campaign)
    with pytest.raises(CommandError, match=r"^Campaign not found\.$"):
        run(command[0], campaign.public_id, *as_(bob), *command[1:])
    assert (reload(campaign).status, reload(campaign).schedule_at, ledger(campaign)) == ("draft", None, before)


@pytest.mark.parametrize("command", ACTIONS, ids=lambda c: c[0].rsplit(":", 1)[1])
@pytest.mark.parametrize("campaign_id", ["42", "campaign_x", "sender_" + "a" * 22, "campaign_" + "a" * 22])
def test_a_malformed_or_missing_campaign_id_is_not_found(alice, campaign_id, command):
    with pytest.raises(CommandError, match=r"^Campaign not found\.$"):
        run(command[0], campaign_id, *as_(alice), *command[1:])


@pytest.mark.parametrize("command", ACTIONS, ids=lambda c: c[0].rsplit(":", 1)[1])
def test_an_unknown_user_is_named(campaign, command):
    with pytest.raises(CommandError, match=r"^Unknown user 'nobody@example.com'\.$"):
        run(command[0], campaign.public_id, "--user", "nobody@example.com", *command[1:])
    assert reload(campaign).status == CampaignStatus.DRAFT


def test_the_user_is_required(campaign):
    with pytest.raises(CommandError, match="the following arguments are required: --user"):
        run("xsender:campaign:start", campaign.public_id)


# ---------------------------------------------------------------- campaigns: report


@pytest.fixture
def delivered(alice, campaign) -> Campaign:
    """Spring started and fanned out: a0 and a1 delivered (a1 opened), a3 bounced, the other three still queued."""
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    now = timezone.now()
    messages = campaign_messages(campaign)
    messages.filter(recipient__in=["a0@example.com", "a1@example.com"]).update(
        status=Status.DELIVERED, sent_at=now, delivered_at=now
    )
    messages.filter(recipient="a1@example.com").update(opened_at=now)
    messages.filter(recipient="a3@example.com").update(status=Status.BOUNCED, sent_at=now, failed_at=now)
    return reload(campaign)


def test_report_gives_the_counts_and_rates(alice, delivered):
    report = run("xsender:campaign:report", delivered.public_id, *as_(alice))
    counts = report["counts"]
    assert (counts["targeted"], counts["messages"], counts["queued"]) == (6, 6, 3)
    assert (counts["sent"], counts["delivered"], counts["opened"], counts["bounced"]) == (3, 2, 1, 1)
    assert (report["rates"]["delivery_rate"], report["rates"]["open_rate"]) == (0.6667, 0.5)
    assert report["rates"]["click_to_open_rate"] == 0.0 and report["rates"]["unsubscribe_rate"] == 0.0


def test_report_prints_rates_as_percentages(alice, delivered):
    printed = text("xsender:campaign:report", delivered.public_id, *as_(alice))
    assert re.search(r"delivery_rate\s+66\.67 %\s+\(delivered / sent\)", printed)
    assert re.search(r"^\s+bounced\s+1$", printed, re.MULTILINE)


def test_report_of_a_campaign_not_started_shows_no_rates(alice, campaign):
    report = run("xsender:campaign:report", campaign.public_id, *as_(alice))
    assert report["counts"]["targeted"] == 0 and set(report["rates"].values()) == {None}


def test_report_writes_the_panels_two_csv_files(alice, delivered, tmp_path):
    report_file, recipients_file = tmp_path / "report.csv", tmp_path / "recipients.csv"
    run("xsender:campaign:report", delivered.public_id, *as_(alice), "--csv", str(report_file),
        "--recipients-csv", str(recipients_file))  # fmt: skip
    expected = "".join(
        reports.csv_lines(reports.report_rows(reports.campaign_report(owner=alice.user, campaign=delivered)))
    )
    assert report_file.read_bytes().decode() == expected  # byte for byte the panel's download
    rows = list(csv.reader(recipients_file.open(encoding="utf-8", newline="")))
    assert rows[0] == list(reports.OUTCOME_HEADER)
    assert sorted((r[1], r[2]) for r in rows[1:] if r[2] != Status.PENDING) == [
        ("a0@example.com", Status.DELIVERED), ("a1@example.com", Status.DELIVERED), ("a3@example.com", Status.BOUNCED),
    ]  # fmt: skip
    assert len(rows) == 7


def test_report_to_a_file_it_cannot_write_says_so(alice, delivered, tmp_path):
    with pytest.raises(CommandError, match=r"^Cannot write .*missing/report\.csv: No such file or directory\.$"):
        run("xsender:campaign:report", delivered.public_id, *as_(alice), "--csv", str(tmp_path / "missing/report.csv"))


# ---------------------------------------------------------------- senders


def test_add_sender_mails_the_confirmation_link_and_lists_it_unverified(alice):
    added = run("xsender:sender:add", "News@Example.COM", *as_(alice), "--name", "Alice News")["sender"]
    (message,) = mail.outbox
    assert message.to == ["news@example.com"] and LINK.search(message.body)
    assert (added["email"], added["name"], added["verified"]) == ("news@example.com", "Alice News", False)
    assert run("xsender:sender:list", *as_(alice))["senders"] == [added]


def test_a_confirmed_sender_is_listed_verified(alice):
    run("xsender:sender:add", "news@example.com", *as_(alice))
    senders.confirm_sender(token=LINK.search(mail.outbox[0].body).group(1))
    (listed,) = run("xsender:sender:list", *as_(alice))["senders"]
    assert listed["verified"] is True and listed["verified_at"]
    assert text("xsender:sender:list", *as_(alice)).strip().endswith("news@example.com  -  verified")


def test_add_sender_refuses_a_bad_address_and_a_duplicate_without_mail(alice):
    with pytest.raises(CommandError, match=r"^email: 'not an address' is not a valid email address\.$"):
        run("xsender:sender:add", "not an address", *as_(alice))
    run("xsender:sender:add", "news@example.com", *as_(alice))
    with pytest.raises(CommandError, match=r"^news@example.com is already one of your senders\.$"):
        run("xsender:sender:add", "NEWS@example.com", *as_(alice))
    assert (Sender.objects.count(), len(mail.outbox)) == (1, 1)


def test_add_sender_for_an_unknown_user_says_so_and_mails_nothing(db):
    with pytest.raises(CommandError, match=r"^Unknown user 'nobody@example.com'\.$"):
        run("xsender:sender:add", "news@example.com", "--user", "nobody@example.com")
    assert (Sender.objects.count(), mail.outbox) == (0, [])


def test_list_shows_only_the_tenants_own_senders(alice, bob):
    run("xsender:sender:add", "alice@shop.example", *as_(alice))
    run("xsender:sender:add", "bob@shop.example", *as_(bob))
    assert [s["email"] for s in run("xsender:sender:list", *as_(alice))["senders"]] == ["alice@shop.example"]
    assert len(text("xsender:sender:list", *as_(bob)).splitlines()) == 1


def link_sent_minutes_ago(sender_id: str, minutes: int) -> None:
    Sender.objects.filter(public_id=sender_id).update(token_sent_at=timezone.now() - timedelta(minutes=minutes))


def test_resend_mails_a_new_link_and_the_old_one_stops_working(alice):
    sender = run("xsender:sender:add", "news@example.com", *as_(alice))["sender"]
    old = LINK.search(mail.outbox[0].body).group(1)
    link_sent_minutes_ago(sender["id"], 2)
    run("xsender:sender:resend", sender["id"], *as_(alice))
    new = LINK.search(mail.outbox[1].body).group(1)
    assert new != old and mail.outbox[1].to == ["news@example.com"]
    with pytest.raises(NotFound, match="unknown or has already been used"):
        senders.confirm_sender(token=old)
    assert senders.confirm_sender(token=new).verified_at is not None


def test_resend_within_a_minute_of_the_last_link_is_refused_without_mail(alice):
    sender = run("xsender:sender:add", "news@example.com", *as_(alice))["sender"]
    with pytest.raises(CommandError, match=r"^A link was sent to news@example.com less than a minute ago"):
        run("xsender:sender:resend", sender["id"], *as_(alice))
    assert len(mail.outbox) == 1


def test_resend_to_a_verified_sender_is_refused_without_mail(alice):
    sender = run("xsender:sender:add", "news@example.com", *as_(alice))["sender"]
    senders.confirm_sender(token=LINK.search(mail.outbox[0].body).group(1))
    with pytest.raises(CommandError, match=r"^news@example.com is already verified\.$"):
        run("xsender:sender:resend", sender["id"], *as_(alice))
    assert len(mail.outbox) == 1


def test_remove_sender_removes_it(alice):
    sender = run("xsender:sender:add", "news@example.com", *as_(alice))["sender"]
    removed = run("xsender:sender:remove", sender["id"], *as_(alice))
    assert removed == {"sender": sender, "removed": True}
    assert not Sender.objects.exists()


def test_a_sender_named_by_a_campaign_is_not_removed(alice, campaign):
    sender = run("xsender:sender:add", "news@example.com", *as_(alice))["sender"]
    senders.confirm_sender(token=LINK.search(mail.outbox[0].body).group(1))
    services.update_campaign(campaign=campaign, sender=sender["id"])
    with pytest.raises(CommandError, match=r"^news@example\.com .*cannot be removed"):
        run("xsender:sender:remove", sender["id"], *as_(alice))
    assert Sender.objects.filter(public_id=sender["id"]).exists()


@pytest.mark.parametrize("command", ["xsender:sender:remove", "xsender:sender:resend"])
def test_another_tenants_sender_is_not_found_and_left_alone(alice, bob, command):
    sender = run("xsender:sender:add", "news@example.com", *as_(alice))["sender"]
    with pytest.raises(CommandError, match=r"^Sender not found\.$"):
        run(command, sender["id"], *as_(bob))
    assert Sender.objects.filter(public_id=sender["id"]).exists() and len(mail.outbox) == 1


@pytest.mark.parametrize("command", ["xsender:sender:remove", "xsender:sender:resend"])
@pytest.mark.parametrize("sender_id", ["7", "sender_x", "campaign_" + "a" * 22, "sender_" + "a" * 22])
def test_a_malformed_or_missing_sender_id_is_not_found(alice, command, sender_id):
    with pytest.raises(CommandError, match=r"^Sender not found\.$"):
        run(command, sender_id, *as_(alice))


@pytest.mark.parametrize("command", ["xsender:sender:remove", "xsender:sender:resend", "xsender:sender:list"])
def test_sender_commands_name_an_unknown_user(alice, command):
    sender = run("xsender:sender:add", "news@example.com", *as_(alice))["sender"]
    args = () if command.endswith("list") else (sender["id"],)
    with pytest.raises(CommandError, match=r"^Unknown user 'nobody@example.com'\.$"):
        run(command, *args, "--user", "nobody@example.com")
    assert Sender.objects.count() == 1 and len(mail.outbox) == 1
