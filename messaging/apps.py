from importlib import import_module

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        # Import the delivery path and every provider backend once, in the parent process: RQ forks a
        # work-horse per job, and what the parent has not imported each job would import again.
        from gateways.backends import PROVIDERS
        from gateways.services import register_removal_guard
        from messaging.services import settle_gateway_removal

        # A gateway is removed only once its queued messages are settled (refused, or failed and refunded).
        register_removal_guard(settle_gateway_removal)
        import_module("messaging.jobs")
        import_module("messaging.delivery")
        for path in PROVIDERS.values():
            module = path.rpartition(".")[0]
            try:
                import_module(module)
            except ImportError:
                continue  # a provider whose module is not installed here is simply unavailable
