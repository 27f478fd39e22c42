from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Delivery tracking"

    def ready(self) -> None:
        from tracking.sweeps import run_sweeps
        from xsender import sweeps

        sweeps.register("tracking", run_sweeps)
