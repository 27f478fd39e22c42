from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = "Audience"

    def ready(self) -> None:
        from contacts.jobs import wake_lost_imports
        from xsender import sweeps

        sweeps.register("contacts", wake_lost_imports)
