"""Provider registry: ``settings.PAYMENT_PROVIDERS`` maps a name to its class path and config."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from .base import PaymentProvider, ProviderNotConfiguredError


@cache
def _instances() -> dict[str, PaymentProvider]:
    return {
        name: import_string(entry["class"])(entry.get("config", {}))
        for name, entry in settings.PAYMENT_PROVIDERS.items()
    }


def provider_get(name: str) -> PaymentProvider:
    """The configured provider ``name``; unknown or unconfigured → 400 ``provider_not_configured``."""
    provider = _instances().get(name)
    if provider is None:
        raise ProviderNotConfiguredError(f"No payment provider named {name!r}.", attr="provider")
    provider.ensure_configured()
    return provider


def providers_available() -> list[PaymentProvider]:
    return [provider for provider in _instances().values() if provider.is_configured()]


def providers_reset() -> None:
    """Forget the built instances (tests that change settings)."""
    _instances.cache_clear()
