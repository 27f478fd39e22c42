from __future__ import annotations

from messaging.models import Message
from tests.messaging.conftest import run_jobs


def test_email_send_is_accepted_then_sent(api, console_gateways, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/email/send",
            {"contact": [{"email": "Carol@Example.com", "subject": "Hi", "message": "Hello"}]},
            format="json",
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["message"] == "New Email Request Sent, Please Check The Email History For Final Status"
    assert body["data"][0]["email"] == "carol@example.com"
    run_jobs()
    uid = body["data"][0]["uid"]
    status = api.get(f"/api/get/email/{uid}").json()
    assert status["data"]["status"] == "Sent", status
    assert Message.objects.count() == 1
