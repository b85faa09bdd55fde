from django.apps import AppConfig


class BookingsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "bookings"

    def ready(self) -> None:
        # Inventory's one availability selector learns about bookings through its registry
        # (docs/decisions.md): active bookings hold their spot for their window.
        from parking.availability import register_occupancy_source

        from .occupancy import BOOKINGS_OCCUPANCY

        register_occupancy_source(BOOKINGS_OCCUPANCY)
