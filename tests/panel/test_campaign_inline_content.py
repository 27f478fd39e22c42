"""The campaign wizard with content written in the campaign: "Use a saved template" or "Write the content here" with
the template editor's fields, errors at those fields, the sandboxed preview, and the review showing the content."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, Template
from tests.campaigns.conftest import audience, campaign, gateways, template  # noqa: F401
from tests.conftest import Tenant
from tests.panel.test_campaigns import signed_in, url

pytestmark = pytest.mark.django_db

NEW = reverse("panel:add-campaign") + "?channel=email"
WRITTEN = {"source": "inline", "subject": "Hi {{ first_name }}", "text": "Dear {{ first_name }}", "html": ""}


@pytest.fixture
def panel(alice: Tenant):
    return signed_in(alice)


@pytest.fixture
def inline(alice, gateways, audience):  # noqa: F811
    return services.create_campaign(
        owner=alice.user, channel="email", name="Written", content={"subject": "Hi {{ first_name }}", "text": "Dear"},
        include_lists=[audience.first.public_id],
    )  # fmt: skip


def test_a_draft_is_created_with_content_written_on_the_new_page(panel, gateways):  # noqa: F811
    response = panel.post(NEW, {"name": "Spring", "template": "", **WRITTEN})
    draft = Campaign.objects.get(name="Spring")
    assert response.url == url("campaign-audience", draft)
    assert (draft.template.campaign_only, draft.template.subject) == (True, "Hi {{ first_name }}")


def test_without_templates_the_new_page_offers_the_content_fields_chosen(panel, gateways):  # noqa: F811
    page = panel.get(NEW).content.decode()
    assert re.search(r'<input type="radio" name="source" value="inline"[^>]*checked', page)
    assert 'name="subject"' in page and 'name="html"' in page


def test_a_bad_placeholder_is_shown_at_its_field_and_nothing_is_created(panel, gateways):  # noqa: F811
    response = panel.post(NEW, {"name": "Spring", **WRITTEN, "subject": "Hi {{ first_name.__class__ }}"})
    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'id="id_subject_error"><li>Placeholder error: [^<]*underscores', page)
    assert not Campaign.objects.exists() and not Template.objects.exists()


def test_the_content_step_switches_a_campaign_to_written_content(panel, campaign, template):  # noqa: F811
    response = panel.post(url("campaign-content", campaign), {**WRITTEN, "template": template.public_id})
    campaign.refresh_from_db()
    assert response.url == url("campaign-schedule", campaign)
    assert campaign.template.campaign_only and campaign.template.text == "Dear {{ first_name }}"
    assert Template.objects.get(campaign_only=False) == template  # the saved template stays


def test_the_content_step_switches_back_to_a_saved_template(panel, inline, template):  # noqa: F811
    own = inline.template
    panel.post(url("campaign-content", inline), {"source": "template", "template": template.public_id})
    inline.refresh_from_db()
    assert inline.template == template and not Template.objects.filter(pk=own.pk).exists()


def test_a_missing_subject_is_shown_at_the_subject_and_nothing_changes(panel, inline):
    response = panel.post(url("campaign-content", inline), {**WRITTEN, "subject": ""})
    inline.refresh_from_db()
    assert response.status_code == 400
    assert 'id="id_subject_error"' in response.content.decode()
    assert inline.template.subject == "Hi {{ first_name }}"


def test_the_content_step_shows_the_written_content_and_its_preview(panel, inline):
    page = panel.get(url("campaign-content", inline)).content.decode()
    assert re.search(r'<input type="radio" name="source" value="inline"[^>]*checked', page)
    assert 'value="Hi {{ first_name }}"' in page
    assert re.search(r'<dd id="preview-subject">Hi [^{<]*</dd>', page)  # rendered for the newest contact


def test_the_preview_button_previews_what_is_written_without_saving(panel, inline):
    form = {**WRITTEN, "subject": "Changed for {{ first_name }}", "contact": "", "action": "preview"}
    page = panel.post(url("campaign-content", inline), form).content.decode()
    inline.refresh_from_db()
    assert '<dd id="preview-subject">Changed for Ada</dd>' in page
    assert inline.template.subject == "Hi {{ first_name }}"


def test_the_written_contents_html_is_previewed_in_a_sandboxed_iframe(panel, inline):
    form = {**WRITTEN, "html": "<p>Hi</p><script>alert(1)</script>", "contact": "", "action": "preview"}
    page = panel.post(url("campaign-content", inline), form).content.decode()
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox=""' in frame and "allow-scripts" not in frame
    assert "<script>alert" not in page


def test_the_live_preview_reads_the_content_steps_fields(panel, inline):
    form = {**WRITTEN, "channel": "email", "contact": "", "gateway_identifier": ""}
    html = panel.post("/templates/preview/", form, secure=True, headers={"HX-Request": "true"}).content.decode()
    assert '<dd id="preview-subject">Hi Ada</dd>' in html
    assert 'hx-post="/templates/preview/"' in panel.get(url("campaign-content", inline)).content.decode()


def test_the_review_shows_the_written_content_and_its_preview(panel, inline):
    page = panel.get(url("campaign-review", inline)).content.decode()
    assert "Written in this campaign" in page
    assert '<dd id="review-subject">Hi {{ first_name }}</dd>' in page
    assert '<dd id="preview-subject">Hi Ada</dd>' in page


def test_the_review_shows_a_saved_templates_subject_and_preview(panel, campaign):  # noqa: F811
    page = panel.get(url("campaign-review", campaign)).content.decode()
    assert campaign.template.name in page and '<dd id="preview-subject">Hi Ada</dd>' in page


def test_the_written_content_is_not_in_the_templates_list_nor_editable_there(panel, inline):
    templates = panel.get(reverse("panel:templates")).content.decode()
    assert inline.template.public_id not in templates
    assert panel.get(reverse("panel:edit-template", kwargs={"public_id": inline.template.public_id})).status_code == 404


def test_the_saved_template_choices_leave_out_written_content(panel, inline, template):  # noqa: F811
    page = panel.get(url("campaign-content", inline)).content.decode()
    assert template.public_id in page and f'value="{inline.template.public_id}"' not in page


def test_a_started_campaigns_content_is_no_longer_edited(panel, inline):
    services.start_campaign(campaign=inline)
    response = panel.post(url("campaign-content", inline), {**WRITTEN, "subject": "Late"})
    inline.refresh_from_db()
    assert response.url == url("campaign", inline)
    assert inline.template.subject == "Hi {{ first_name }}"


def test_the_campaign_page_shows_written_content_without_a_template_link(panel, inline):
    page = panel.get(url("campaign", inline)).content.decode()
    assert "Written in this campaign" in page and "/templates/template_" not in page


def test_another_tenant_gets_a_404_for_the_content_step(bob, inline):
    assert signed_in(bob).get(url("campaign-content", inline)).status_code == 404


def test_deleting_the_draft_deletes_its_written_content(panel, inline):
    panel.post(url("delete-campaign", inline))
    assert not Campaign.objects.exists() and not Template.objects.exists()
