from django.apps import AppConfig


class GatesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gates"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the device key scheme with drf-spectacular
