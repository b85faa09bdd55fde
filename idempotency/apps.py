from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "idempotency"
    verbose_name = "Idempotency keys"

    def ready(self) -> None:
        from app.cleanup import register_cleanup

        from .services import idempotency_records_purge

        register_cleanup("idempotency_keys", idempotency_records_purge)
