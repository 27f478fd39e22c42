from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"

    def ready(self) -> None:
        import devices.api  # noqa: F401  (registers the OpenAPI security scheme)
