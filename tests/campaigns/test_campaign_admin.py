"""Campaigns in Django admin: listed with their counters, changed only through the services' actions."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from campaigns.models import CampaignStatus

pytestmark = pytest.mark.django_db

URL = "/admin/campaigns/campaign/"


def act(client, action: str, campaign):
    return client.post(URL, {"action": action, ACTION_CHECKBOX_NAME: [campaign.pk]}, secure=True, follow=True)


def test_the_list_shows_campaigns_with_their_status_and_recipients(admin_client, campaign):
    page = admin_client.get(f"{URL}?status=draft", secure=True).content.decode()
    assert "Spring" in page
    assert campaign.public_id in page


def test_the_actions_start_pause_and_cancel_through_the_services(admin_client, campaign):
    act(admin_client, "start", campaign)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.recipients_count) == (CampaignStatus.SENDING, 6)
    act(admin_client, "pause", campaign)
    act(admin_client, "cancel", campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED


def test_an_action_the_campaign_refuses_is_shown_and_changes_nothing(admin_client, campaign):
    page = act(admin_client, "resume", campaign).content.decode()
    campaign.refresh_from_db()
    assert "Only a paused campaign can be resumed" in page
    assert campaign.status == CampaignStatus.DRAFT


def test_the_change_page_is_read_only(admin_client, campaign):
    page = admin_client.get(f"{URL}{campaign.pk}/change/", secure=True).content.decode()
    assert 'name="name"' not in page
    assert "Spring" in page
