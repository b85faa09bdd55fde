from django.apps import AppConfig


class PricingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pricing"
    verbose_name = "Pricing"

    def ready(self) -> None:
        # Inventory shows prices in search through its price-provider registry (docs/decisions.md).
        from parking.pricing_hooks import register_price_provider

        from .selectors import price_facilities_for_window, price_spots_for_window

        register_price_provider(facilities=price_facilities_for_window, spots=price_spots_for_window)
