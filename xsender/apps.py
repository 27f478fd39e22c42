from django.apps import AppConfig


class XSenderConfig(AppConfig):
    """The project package, installed for its infrastructure commands (xsender:redis, xsender:worker)."""

    name = "xsender"
    verbose_name = "XSender"
