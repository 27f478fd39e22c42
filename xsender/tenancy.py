"""Tenant scoping that no read can forget: every tenant-facing read starts from `Model.objects.for_tenant(user)`.

A model opts in with `objects = TenantQuerySet.as_manager()` and names the path to its owner in
`tenant_field` (default "user"). Another tenant's rows are simply absent, so a lookup by id answers 404.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


class TenantQuerySet(models.QuerySet[M]):
    def for_tenant(self, principal: Any) -> TenantQuerySet[M]:
        """The rows `principal` owns; none for an anonymous or missing principal."""
        if principal is None or not getattr(principal, "is_authenticated", False) or principal.pk is None:
            return self.none()
        field = getattr(self.model, "tenant_field", "user")
        return self.filter(**{field: principal})
