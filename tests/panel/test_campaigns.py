"""Campaigns in the panel: the list, the wizard (audience → content → schedule → review), start with the credit
checked, pause / resume / cancel, the report and its CSV downloads, and another tenant's campaign as a 404."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as accounts
from campaigns import jobs, reports, services
from campaigns.models import Campaign, CampaignStatus
from contacts import services as contacts
from contacts.models import Tag
from tests.campaigns.conftest import ACME, audience, campaign, campaign_messages, gateways, segments, template  # noqa: F401
from tests.campaigns.test_reports import LINK_A, outcomes, send
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


class HttpsClient(Client):
    """The panel is served over HTTPS: every request of these tests is secure."""

    def get(self, path: str, *args: Any, **extra: Any) -> Any:
        return super().get(path, *args, **{"secure": True, **extra})

    def post(self, path: str, *args: Any, **extra: Any) -> Any:
        return super().post(path, *args, **{"secure": True, **extra})


def signed_in(tenant: Tenant) -> Client:
    client = HttpsClient()
    client.force_login(tenant.user)
    return client


@pytest.fixture
def panel(alice: Tenant) -> Client:
    return signed_in(alice)


def url(name: str, campaign: Campaign) -> str:  # noqa: F811
    return reverse(f"panel:{name}", kwargs={"public_id": campaign.public_id})


def started(campaign: Campaign) -> Campaign:  # noqa: F811
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    return Campaign.objects.get(pk=campaign.pk)


def test_an_empty_list_links_to_a_new_campaign(panel):
    page = panel.get(reverse("panel:campaigns")).content.decode()
    assert "No campaigns yet — create your first one" in page
    assert reverse("panel:add-campaign") in page


def test_the_navigation_lists_campaigns_after_templates(panel):
    page = panel.get(reverse("panel:campaigns")).content.decode()
    assert page.index(">Templates<") < page.index(">Campaigns<")


def test_the_wizard_creates_a_draft_with_the_chosen_audience(panel, gateways, audience, template):  # noqa: F811
    new = panel.post(
        reverse("panel:add-campaign") + "?channel=email", {"name": "Spring", "template": template.public_id}
    )
    draft, vip = Campaign.objects.get(name="Spring"), Tag.objects.get(name="vip")
    assert new.url == url("campaign-audience", draft)
    step = panel.post(
        url("campaign-audience", draft),
        {"include_lists": [audience.first.public_id, audience.second.public_id], "exclude_tags": [vip.public_id]},
    )
    assert step.url == url("campaign-content", draft)
    assert set(draft.include_lists.values_list("name", flat=True)) == {"First", "Second"}
    assert list(draft.exclude_tags.values_list("name", flat=True)) == ["vip"]


def test_the_audience_step_offers_the_tenants_segments_only(panel, bob, campaign, segments):  # noqa: F811
    bobs = contacts.create_segment(owner=bob.user, name="Bob's segment", rules=ACME)
    page = panel.get(url("campaign-audience", campaign)).content.decode()
    assert page.count(f'value="{segments[0].public_id}"') == 2  # include and exclude
    assert bobs.public_id not in page


def test_the_wizard_saves_segments_and_the_review_counts_them(panel, campaign, audience, segments):  # noqa: F811
    acme, a1 = segments
    step = panel.post(
        url("campaign-audience", campaign),
        {"include_lists": [audience.first.public_id], "include_segments": [acme.public_id],
         "exclude_segments": [a1.public_id]},
    )  # fmt: skip
    assert step.url == url("campaign-content", campaign)
    assert (list(campaign.include_segments.all()), list(campaign.exclude_segments.all())) == ([acme], [a1])
    page = panel.get(url("campaign-review", campaign)).content.decode()
    assert re.search(r'id="review-recipients">.*?<p class="big">6</p>', page, re.S)  # a0, a2–a5 and b1
    assert re.search(r'id="review-include-segments">Acme</dd>', page)


def test_another_tenants_segment_posted_to_the_audience_step_changes_nothing(panel, bob, campaign):  # noqa: F811
    bobs = contacts.create_segment(owner=bob.user, name="Bob's segment", rules=ACME)
    response = panel.post(url("campaign-audience", campaign), {"include_segments": [bobs.public_id]})
    assert response.status_code == 400
    assert not campaign.include_segments.exists()


def test_a_new_campaign_without_a_template_shows_the_error_at_the_field(panel, gateways, template):  # noqa: F811
    response = panel.post(reverse("panel:add-campaign") + "?channel=email", {"name": "Spring", "template": ""})
    assert response.status_code == 400
    assert "Choose a saved template or write the content." in response.content.decode()
    assert not Campaign.objects.exists()


def test_the_content_and_schedule_steps_save_through_the_services(panel, campaign):  # noqa: F811
    panel.post(url("campaign-content", campaign), {"template": campaign.template.public_id, "gateway_identifier": ""})
    response = panel.post(url("campaign-schedule", campaign), {"schedule_at": "2099-01-01T09:30", "throttle": "60"})
    campaign.refresh_from_db()
    assert response.url == url("campaign-review", campaign)
    assert (campaign.throttle, campaign.schedule_at.year) == (60, 2099)


def test_a_bad_throttle_is_shown_at_its_field_and_nothing_changes(panel, campaign):  # noqa: F811
    response = panel.post(url("campaign-schedule", campaign), {"schedule_at": "", "throttle": "0"})
    assert response.status_code == 400
    assert Campaign.objects.get(pk=campaign.pk).throttle is None


def test_the_review_shows_the_recipients_cost_and_balance(panel, campaign):  # noqa: F811
    page = panel.get(url("campaign-review", campaign)).content.decode()
    assert re.search(r'id="review-recipients">.*?<p class="big">6</p>', page, re.S)
    assert re.search(r'id="review-balance">.*?<p class="big">100</p>', page, re.S)


def test_not_enough_credit_shows_the_shortfall_and_starts_nothing(panel, alice, campaign):  # noqa: F811
    accounts.adjust_credits(user=alice.user, channel="email", delta=-96)  # 4 left for 6 recipients
    response = panel.post(url("campaign-review", campaign))
    assert response.status_code == 400
    assert "2 short" in response.content.decode()
    campaign.refresh_from_db()
    assert (campaign.status, campaign.recipients.count()) == (CampaignStatus.DRAFT, 0)


def test_start_creates_one_message_per_recipient(panel, campaign, audience):  # noqa: F811
    response = panel.post(url("campaign-review", campaign))
    assert response.url == url("campaign", campaign)
    jobs.fan_out_job(campaign.pk)
    assert set(campaign_messages(campaign).values_list("recipient", flat=True)) == audience.expected


def test_a_start_without_an_audience_is_refused_above_the_form(panel, alice, gateways, template):  # noqa: F811
    draft = services.create_campaign(owner=alice.user, channel="email", name="Empty", template=template.public_id)
    response = panel.post(url("campaign-review", draft))
    assert "Choose at least one list, tag or segment to send to." in response.content.decode()
    assert Campaign.objects.get(pk=draft.pk).status == CampaignStatus.DRAFT


def test_pause_and_resume_buttons_change_the_status(panel, campaign):  # noqa: F811
    started(campaign)
    panel.post(url("pause-campaign", campaign))
    paused = Campaign.objects.get(pk=campaign.pk).status
    panel.post(url("resume-campaign", campaign))
    assert (paused, Campaign.objects.get(pk=campaign.pk).status) == (CampaignStatus.PAUSED, CampaignStatus.SENDING)


def test_cancel_asks_first_then_cancels(panel, campaign):  # noqa: F811
    started(campaign)
    question = panel.get(url("cancel-campaign", campaign))
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENDING
    answer = panel.post(url("cancel-campaign", campaign), follow=True)
    assert "Cancel campaign" in question.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.CANCELLED
    assert "cancelled" in answer.content.decode()


def test_a_refused_action_is_a_flash_and_changes_nothing(panel, campaign):  # noqa: F811
    response = panel.post(url("resume-campaign", campaign), follow=True)
    assert "Only a paused campaign can be resumed" in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_a_draft_is_deleted_after_a_confirmation(panel, campaign):  # noqa: F811
    panel.get(url("delete-campaign", campaign))
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    panel.post(url("delete-campaign", campaign))
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_the_report_shows_campaign_reports_numbers(panel, alice, campaign, gateways):  # noqa: F811
    outcomes(send(campaign, gateways))  # delivered, opened, clicked (two links), bounced, complained, failed …
    page = panel.get(url("campaign", campaign)).content.decode()
    shown = dict(re.findall(r'data-count="(\w+)"><th scope="row">[^<]*</th><td class="num">(\d+)</td>', page))
    report = reports.campaign_report(owner=alice.user, campaign=campaign)
    assert {k: int(v) for k, v in shown.items()} == report.counts
    assert '<svg class="chart"' in page and LINK_A in page


def test_the_report_csv_is_campaign_reports_own(panel, alice, campaign):  # noqa: F811
    campaign = started(campaign)
    download = b"".join(panel.get(url("campaign-report-csv", campaign)).streaming_content)
    expected = b"".join(reports.report_csv(owner=alice.user, campaign=campaign).streaming_content)
    assert download == expected


def test_the_recipients_csv_lists_every_recipient(panel, campaign, audience):  # noqa: F811
    campaign = started(campaign)
    response = panel.get(url("campaign-recipients-csv", campaign))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert {row[1] for row in rows[1:]} == audience.expected


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|<style|\sstyle\s*=", re.I)
INPUT_ID = re.compile(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"')


def test_every_campaign_page_labels_its_inputs_and_has_no_inline_code(panel, campaign, gateways):  # noqa: F811
    pages = [reverse("panel:campaigns"), reverse("panel:add-campaign") + "?channel=email"]
    pages += [url(step, campaign) for step in ("campaign-audience", "campaign-content", "campaign-schedule")]
    html = [panel.get(page).content.decode() for page in [*pages, url("campaign-review", campaign)]]
    outcomes(send(campaign, gateways))  # the campaign's page with its report, and the cancel confirmation
    html += [panel.get(url(name, campaign)).content.decode() for name in ("campaign", "cancel-campaign")]
    inputs = [i for page in html for i in INPUT_ID.findall(page)]
    assert not any(INLINE.search(page) for page in html)
    assert all(any(f'for="{i}"' in page for page in html) for i in inputs) and len(inputs) > 10


NAMED = ("campaign", "campaign-audience", "campaign-content", "campaign-schedule", "campaign-review",
         "cancel-campaign", "delete-campaign", "campaign-report-csv", "campaign-recipients-csv")  # fmt: skip


def test_another_tenants_campaign_is_a_404_on_every_url(bob, campaign):  # noqa: F811
    client = signed_in(bob)
    answers = {name: client.get(url(name, campaign)).status_code for name in NAMED}
    answers |= {name: client.post(url(name, campaign)).status_code for name in ("pause-campaign", "resume-campaign")}
    assert set(answers.values()) == {404}
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def _list_queries(panel) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert panel.get(reverse("panel:campaigns")).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_3_or_30_campaigns(panel, alice, gateways, template):  # noqa: F811
    def make(n: int) -> None:
        for i in range(n):
            services.create_campaign(owner=alice.user, channel="email", name=f"C{i}", template=template.public_id)

    make(3)
    few = _list_queries(panel)
    make(27)
    assert _list_queries(panel) == few


def test_the_list_pages_by_25_newest_first_without_repeats(panel, alice, gateways, template):  # noqa: F811
    for i in range(30):
        services.create_campaign(owner=alice.user, channel="email", name=f"C{i:02}", template=template.public_id)
    first = panel.get(reverse("panel:campaigns")).content.decode()
    after = re.search(r'href="/campaigns/\?after=(\d+)" rel="next"', first).group(1)
    second = panel.get(reverse("panel:campaigns") + f"?after={after}").content.decode()
    names = re.findall(r">(C\d\d)</a>", first) + re.findall(r">(C\d\d)</a>", second)
    assert names == [f"C{i:02}" for i in reversed(range(30))] and 'rel="next"' not in second
