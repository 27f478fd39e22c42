from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import accounts.authentication  # noqa: F401  (registers the OpenAPI security scheme)
        from accounts.roles import sync_staff_roles

        post_migrate.connect(sync_staff_roles, dispatch_uid="accounts.sync_staff_roles")
