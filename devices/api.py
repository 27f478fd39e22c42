"""The Android gateway device API (Bearer session token), in the XSender envelope."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from devices import services
from devices.models import AndroidDevice, Sim
from devices.schema import PENDING, REGISTER_TEXTS, REGISTERED, REPORT_ITEMS, REPORTED, SIM, Text, schema
from xsender.api import XSenderAPIView, ok, parse_timestamp
from xsender.errors import NotAuthenticated as DomainNotAuthenticated
from xsender.throttling import ClientIpThrottle, RateThrottle, limit_client


class DeviceTokenAuthentication(BaseAuthentication):
    """Counts every call of the caller's address (NAT-ed fleets included) before the token is even looked up."""

    def authenticate(self, request: Any) -> tuple[Any, AndroidDevice]:
        limit_client(request, "device", settings.XSENDER_DEVICE_IP_RATE_LIMIT)
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("Missing Authorization: Bearer session token.")
        try:
            device = services.authenticate_device(token.strip())
        except DomainNotAuthenticated as exc:
            raise AuthenticationFailed(exc.message) from None
        return device.user, device

    def authenticate_header(self, request: Any) -> str:
        return "Bearer"


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "devices.api.DeviceTokenAuthentication"
    name = "DeviceSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}


class DeviceSessionThrottle(RateThrottle):
    """Per device session: a phone stuck in a loop cannot take the server's time from the rest of the fleet."""

    def limit_for(self, request: Any, view: Any) -> tuple[str, int]:
        return f"device:{request.auth.pk}", settings.XSENDER_DEVICE_RATE_LIMIT


class DeviceView(XSenderAPIView):
    authentication_classes = [DeviceTokenAuthentication]
    throttle_classes = [DeviceSessionThrottle]


def sim_data(sim: Sim) -> dict[str, Any]:
    return {
        "uid": sim.uid, "slot": sim.slot, "label": sim.label, "country_code": sim.country_code, "active": sim.active,
        "signal_strength": sim.signal_strength, "messages_sent_24h": sim.messages_sent_24h,
    }  # fmt: skip


def profile_data(device: AndroidDevice) -> dict[str, int]:
    return {
        "poll_interval": device.poll_interval,
        "daily_quota": device.daily_quota,
        "lease_seconds": device.lease_seconds,
    }


class RegisterInput(serializers.Serializer):
    pairing_token = Text(max_length=200)
    device_uuid = Text(max_length=100)
    device_name = Text(max_length=150, required=False, allow_blank=True, default="")
    android_version = Text(max_length=32, required=False, allow_blank=True, default="")
    app_version = Text(max_length=32, required=False, allow_blank=True, default="")


class RegisterSessionView(XSenderAPIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    # Unauthenticated: counted per caller address, so pairing tokens cannot be guessed at speed.
    throttle_classes = [ClientIpThrottle]
    ip_rate_scope = "register"
    ip_rate_setting = "XSENDER_REGISTER_RATE_LIMIT"

    @schema("Pair a phone", request=RegisterInput, answer=REGISTERED, texts=REGISTER_TEXTS)
    def post(self, request: Request) -> Response:
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        registration = services.register_session(**data.validated_data)
        device = registration.device
        body = {
            "session_token": registration.session_token,
            "gateway_uid": str(device.gateway.uid),
            "user": {"id": device.user.pk, "name": device.user.get_full_name()},
            "sims": [sim_data(s) for s in device.sims.all()],
            "profile": profile_data(device),
        }
        return ok("Device registered", body)


class LogoutView(DeviceView):
    @schema("Revoke this session token")
    def post(self, request: Request) -> Response:
        services.logout_device(device=request.auth)
        return ok("Logged out")


class SimInput(serializers.Serializer):
    slot = serializers.IntegerField(min_value=0, max_value=7)
    label = Text(max_length=100, required=False, allow_blank=True, default="")
    country_code = Text(max_length=8, required=False, allow_blank=True, default="")


class SimUpdateInput(serializers.Serializer):
    label = Text(max_length=100, required=False, allow_blank=True)
    country_code = Text(max_length=8, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class SimListView(DeviceView):
    @schema("Add a SIM", request=SimInput, answer=SIM, status=201)
    def post(self, request: Request) -> Response:
        data = SimInput(data=request.data)
        data.is_valid(raise_exception=True)
        return ok("SIM added", sim_data(services.add_sim(device=request.auth, **data.validated_data)), 201)


class SimDetailView(DeviceView):
    @schema("Update a SIM", request=SimUpdateInput, answer=SIM, errors=(404,))
    def put(self, request: Request, uid: str) -> Response:
        sim = services.get_sim(device=request.auth, sim_uid=uid)
        data = SimUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        return ok("SIM updated", sim_data(services.update_sim(sim=sim, **data.validated_data)))

    @schema("Remove a SIM", errors=(404,))
    def delete(self, request: Request, uid: str) -> Response:
        services.remove_sim(sim=services.get_sim(device=request.auth, sim_uid=uid))
        return ok("SIM removed")


class HeartbeatInput(serializers.Serializer):
    sim_uid = Text(max_length=40)
    active = serializers.BooleanField()
    signal_strength = serializers.IntegerField(
        min_value=-200, max_value=0, required=False, allow_null=True, default=None
    )
    messages_sent_24h = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    imsi = Text(max_length=20, required=False, allow_blank=True, default="")


class SimStatusView(DeviceView):
    @schema("Report a SIM's heartbeat", request=HeartbeatInput, answer=SIM, errors=(404,))
    def post(self, request: Request) -> Response:
        data = HeartbeatInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        sim = services.get_sim(device=request.auth, sim_uid=values.pop("sim_uid"))
        return ok("SIM status recorded", sim_data(services.record_heartbeat(sim=sim, **values)))


class PendingView(DeviceView):
    @schema("Claim queued SMS for this phone", answer=PENDING)
    def get(self, request: Request) -> Response:
        messages = services.claim_pending(device=request.auth)
        data = [
            {
                "uid": str(m.uid),
                "number": m.recipient,
                "body": m.body,
                "sim_uid": m.device_sim,
                "priority": services.priority_label(m.priority),
            }
            for m in messages
        ]
        return ok(f"{len(data)} message(s) to send", data)


class ReportInput(serializers.Serializer):
    statuses = extend_schema_field(REPORT_ITEMS)(
        serializers.ListField(child=serializers.DictField(), min_length=1, max_length=500)
    )


def parse_report(item: dict[str, Any]) -> services.DeviceReport | str:
    """One `statuses[]` entry as a report, or the reason it cannot be one."""
    status = str(item.get("status", "")).lower()
    if status not in services.REPORTED:
        return "status must be sent, delivered or failed."
    when = item.get("delivered_at") or item.get("sent_at")
    try:
        at = parse_timestamp(when) if isinstance(when, str) and when else None
    except ValueError:
        return "Timestamps are Y-m-d H:i:s."
    if when and not isinstance(when, str):
        return "Timestamps are Y-m-d H:i:s."
    return services.DeviceReport(str(item.get("uid", "")), status, at, str(item.get("error") or "")[:2000], item)


def report_answer(answer: services.ReportAnswer) -> dict[str, Any]:
    if not answer.success:
        return {"uid": answer.uid, "success": False, "message": answer.message}
    body = {"uid": answer.uid, "success": True, "changed": answer.changed, "status": answer.status}
    return {**body, "message": answer.message} if answer.message else body


class UpdateStatusesView(DeviceView):
    @schema("Report sent, delivered or failed", request=ReportInput, answer=REPORTED)
    def post(self, request: Request) -> Response:
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        parsed = [parse_report(item) for item in data.validated_data["statuses"]]
        reports = [p for p in parsed if isinstance(p, services.DeviceReport)]
        applied = iter(services.apply_reports(device=request.auth, reports=reports))
        answers = [
            report_answer(next(applied)) if isinstance(p, services.DeviceReport) else
            {"uid": str(item.get("uid", "")), "success": False, "message": p}
            for p, item in zip(parsed, data.validated_data["statuses"], strict=True)
        ]  # fmt: skip
        return ok("Statuses recorded", answers)
