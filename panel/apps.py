from django.apps import AppConfig


class PanelConfig(AppConfig):
    name = "panel"

    def ready(self) -> None:
        from panel import staff

        staff.register()  # the user's admin page links to their message history (read-only)
