"""A reference phone: registers, heartbeats, polls and reports like the Android app does."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone


class Phone:
    def __init__(self, server: str, token: str = "", headers: dict[str, str] | None = None) -> None:
        self.server = server.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self.token = token

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self.session.request(method, self.server + path, headers=headers, timeout=30, **kwargs)
        except requests.RequestException as exc:
            raise CommandError(f"{method} {path}: cannot reach {self.server} ({type(exc).__name__}).") from None
        try:
            body = response.json()
        except ValueError:
            raise CommandError(f"{method} {path}: HTTP {response.status_code}, not an XSender answer.") from None
        if response.status_code >= 400:
            raise CommandError(f"{method} {path}: HTTP {response.status_code}: {body.get('message')}")
        return body


class Command(BaseCommand):
    help = "Act as an Android gateway phone: register, heartbeat, poll for SMS and report sent then delivered."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--server", required=True, help="XSender's base URL.")
        token = parser.add_mutually_exclusive_group(required=True)
        token.add_argument("--pairing-token")
        token.add_argument("--session-token")
        parser.add_argument("--device-uuid", default=None, help="Stable phone id (default: a new one).")
        parser.add_argument("--sims", type=int, default=2, help="SIMs to add (1-8, one per slot).")
        parser.add_argument("--fail-rate", type=float, default=0.0, help="Share of SMS reported failed (0-1).")
        parser.add_argument("--interval", type=float, default=None, help="Poll interval (default: the profile's).")
        parser.add_argument("--max-seconds", type=float, default=None, help="Stop after this long.")
        parser.add_argument("--once", action="store_true", help="One poll, then stop.")
        parser.add_argument("--forwarded-proto", default="", help="Send X-Forwarded-Proto (behind a test proxy).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["fail_rate"] <= 1:
            raise CommandError("--fail-rate is between 0 and 1.")
        if not 1 <= options["sims"] <= 8:
            raise CommandError("--sims is between 1 and 8 (a phone has slots 0 to 7).")
        headers = {"X-Forwarded-Proto": options["forwarded_proto"]} if options["forwarded_proto"] else {}
        phone = Phone(options["server"], options["session_token"] or "", headers)
        interval = options["interval"]
        if options["pairing_token"]:
            body = {"pairing_token": options["pairing_token"], "device_uuid": options["device_uuid"] or str(uuid.uuid4()),
                    "device_name": "Simulated phone", "android_version": "14", "app_version": "sim-1.0"}  # fmt: skip
            data = phone.call("POST", "/api/gateway/sms/android/register-session", json=body)["data"]
            phone.token = data["session_token"]
            interval = interval or data["profile"]["poll_interval"]
            self.stdout.write(f"Registered: gateway {data['gateway_uid']}\nSession token: {phone.token}")
        sims = self._sims(phone, options["sims"])
        deadline = time.monotonic() + options["max_seconds"] if options["max_seconds"] else None
        while True:
            for sim in sims:
                phone.call(
                    "POST",
                    "/api/gateway/sms/android/sim/update-status",
                    json={"sim_uid": sim, "active": True, "signal_strength": -70},
                )
            self._poll(phone, options["fail_rate"])
            if options["once"] or (deadline and time.monotonic() >= deadline):
                break
            time.sleep(interval or 5)

    def _sims(self, phone: Phone, count: int) -> list[str]:
        return [
            phone.call("POST", "/api/gateway/sms/android/sim", json={"slot": slot, "label": f"SIM {slot + 1}"})["data"][
                "uid"
            ]
            for slot in range(count)
        ]

    def _poll(self, phone: Phone, fail_rate: float) -> None:
        messages = phone.call("GET", "/api/logs/sms/pending")["data"]
        if not messages:
            return
        now = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
        sent, failed = [], []
        for message in messages:
            (failed if random.random() < fail_rate else sent).append(message["uid"])  # noqa: S311
        reports = [{"uid": uid, "status": "sent", "sent_at": now} for uid in sent]
        reports += [{"uid": uid, "status": "failed", "error": "RADIO_NOT_AVAILABLE"} for uid in failed]
        phone.call("POST", "/api/logs/sms/update-statuses", json={"statuses": reports})
        if sent:
            phone.call(
                "POST",
                "/api/logs/sms/update-statuses",
                json={"statuses": [{"uid": u, "status": "delivered", "delivered_at": now} for u in sent]},
            )
        self.stdout.write(f"Sent {len(sent)}, failed {len(failed)}")
