"""Tenant scoping that no read can forget: every tenant-facing read starts from `Model.objects.for_tenant(user)`.

A model opts in with `objects = TenantQuerySet.as_manager()` and names the path to its owner in
`tenant_field` (default "user"). Another tenant's rows are simply absent, so a lookup by id answers 404.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

from xsender.errors import NotFound
from xsender.public_ids import is_public_id

M = TypeVar("M", bound=models.Model)


class TenantQuerySet(models.QuerySet[M]):
    def for_tenant(self, principal: Any) -> TenantQuerySet[M]:
        """The rows `principal` owns; none for an anonymous or missing principal."""
        if principal is None or not getattr(principal, "is_authenticated", False) or principal.pk is None:
            return self.none()
        field = getattr(self.model, "tenant_field", "user")
        return self.filter(**{field: principal})


def owned_by_public_id(model: type[M], principal: Any, public_id: str, prefix: str, what: str) -> M:
    """`principal`'s `model` row named by its public id (`<prefix>_…`). Raises NotFound("<what> not found.") for a
    malformed id, a missing one and another tenant's alike."""
    found = None
    if is_public_id(public_id, prefix):
        found = model.objects.for_tenant(principal).filter(public_id=public_id).first()  # type: ignore[attr-defined]
    if found is None:
        raise NotFound(f"{what} not found.")
    return found
