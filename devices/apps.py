from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"

    def ready(self) -> None:
        import devices.api  # noqa: F401  (registers the OpenAPI security scheme)
        from devices.services import publish_offline_devices
        from xsender import sweeps

        # The scheduler notices phones that went silent (device.offline for webhooks).
        sweeps.register("devices", lambda: {"devices_offline": publish_offline_devices()})
