from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"

    def ready(self) -> None:
        # Bookings publishes cancellations and check-outs; payments refunds them (docs/decisions.md).
        from app.cleanup import register_cleanup
        from bookings.events import register_booking_listener

        from .services import on_booking_event
        from .webhooks import webhook_payloads_purge

        register_booking_listener(on_booking_event)
        register_cleanup("webhook_payloads", webhook_payloads_purge)
