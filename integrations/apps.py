from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "integrations"
    verbose_name = "Integrations (outgoing webhooks)"

    def ready(self) -> None:
        # Domain events reach us through the app.events registry (docs/decisions.md).
        from app.events import register_event_sink

        from .services import on_event

        register_event_sink(on_event)
