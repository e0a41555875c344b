from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import postgres_timestamps
        from .logging import configure_structlog

        configure_structlog()
        postgres_timestamps.install()
