from django.apps import AppConfig


class EnforcementConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "enforcement"

    def ready(self) -> None:
        # Registries of the lower apps (docs/decisions.md): payments tells us a fine was paid,
        # bookings asks us to cap and fee the overstay price, the cleanup job runs our purges.
        from bookings.events import register_overstay_adjuster
        from payments.events import register_payment_listener
        from payments.models import PaymentPurpose

        from . import cleanup, jobruns  # noqa: F401 - jobruns connects the Celery task signals
        from .jobs import overstay_adjust
        from .violations import on_fine_paid

        register_payment_listener(PaymentPurpose.VIOLATION, on_fine_paid)
        register_overstay_adjuster(overstay_adjust)
        cleanup.register()
