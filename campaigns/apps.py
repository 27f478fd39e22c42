from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Templates and campaigns"

    def ready(self) -> None:
        from campaigns.sweeps import run_sweeps
        from xsender import sweeps

        sweeps.register("campaigns", run_sweeps)
