from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Templates and campaigns"

    def ready(self) -> None:
        from campaigns.addressing import resolve_references
        from campaigns.sweeps import run_sweeps
        from messaging import references
        from xsender import sweeps

        sweeps.register("campaigns", run_sweeps)
        references.register(resolve_references)
