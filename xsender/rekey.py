"""Re-encrypts every stored encrypted value with the first key of XSENDER_ENCRYPTION_KEY (key rotation)."""

from __future__ import annotations

from django.apps import apps
from django.db import models, transaction

from xsender.fields import EncryptedJSONField


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted fields, found through the app registry (xsender imports no app)."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedJSONField)]
        if names:
            found.append((model, names))
    return found


@transaction.atomic
def reencrypt_all() -> dict[str, int]:
    """{"gateways.Gateway": rows rewritten, ...}. Values are read with any configured key (old derivations
    included) and written back with the first; all or nothing: a value no key opens raises ValueError."""
    counts: dict[str, int] = {}
    for model, names in encrypted_fields():
        counts[model._meta.label] = _reencrypt(model, names)
    return counts


def _reencrypt(model: type[models.Model], names: list[str], chunk: int = 500) -> int:
    rows = model._base_manager.select_for_update().only(model._meta.pk.name, *names).order_by("pk")
    count = 0
    # Pages by primary key rather than a server-side cursor, which an error part-way would leave dangling.
    page = list(rows[:chunk])
    while page:
        for row in page:
            # Saving the decrypted value encrypts it again with the current first key.
            model._base_manager.filter(pk=row.pk).update(**{name: getattr(row, name) for name in names})
        count += len(page)
        page = list(rows.filter(pk__gt=page[-1].pk)[:chunk])
    return count
