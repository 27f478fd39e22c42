"""Staff roles: Support reads everything, Operator also manages gateways and devices, Admin does everything.

The groups are created by a data migration; their permissions are synced after every `migrate`, so a
model added later is covered without another migration.
"""

from typing import Any

from django.contrib.auth.models import Group, Permission

APPS = ("accounts", "gateways", "messaging", "devices", "webhooks", "contacts", "campaigns")
GATEWAY_APPS = ("gateways", "devices")


def role_permissions(role: str) -> list[Permission]:
    perms = Permission.objects.filter(content_type__app_label__in=APPS).select_related("content_type")
    if role == "Admin":
        return list(perms)
    chosen = [p for p in perms if p.codename.startswith("view_")]
    if role == "Operator":
        chosen += [p for p in perms if p.content_type.app_label in GATEWAY_APPS and not p.codename.startswith("view_")]
    return chosen


def sync_staff_roles(**kwargs: Any) -> None:
    for group in Group.objects.filter(name__in=("Support", "Operator", "Admin")):
        group.permissions.set(role_permissions(group.name))
