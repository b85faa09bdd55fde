from django.apps import AppConfig


class GatesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gates"

    def ready(self) -> None:
        from app.cleanup import register_cleanup

        from . import schema  # noqa: F401 - registers the device key scheme with drf-spectacular
        from .retention import gate_events_purge

        register_cleanup("gate_events", gate_events_purge)
