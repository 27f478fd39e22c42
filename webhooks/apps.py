from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from messaging.transitions import register_observer
        from webhooks.outbox import record_moves, record_platform_events
        from webhooks.sweeps import run_sweeps
        from xsender import events, sweeps

        # The outbox records events inside the transaction of what caused them: message moves, platform events.
        register_observer(record_moves)
        events.subscribe(record_platform_events)
        sweeps.register("webhooks", run_sweeps)
