"""Provider registry: ``settings.PAYMENT_PROVIDERS`` maps a name to its class path and config."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from django.conf import settings
from django.utils.module_loading import import_string

from .base import PaymentProvider, ProviderNotConfiguredError


def _entries() -> dict[str, dict[str, Any]]:
    return cast(dict[str, dict[str, Any]], settings.PAYMENT_PROVIDERS)


@cache
def _instance(name: str) -> PaymentProvider | None:
    entry = _entries().get(name)
    if entry is None:
        return None
    provider: PaymentProvider = import_string(entry["class"])(entry.get("config", {}))
    return provider


def provider_get(name: str) -> PaymentProvider:
    """The configured provider ``name``; unknown or unconfigured → 400 ``provider_not_configured``."""
    provider = _instance(name)
    if provider is None:
        raise ProviderNotConfiguredError(f"No payment provider named {name!r}.", attr="provider")
    provider.ensure_configured()
    return provider


def providers_available() -> list[PaymentProvider]:
    instances = [_instance(name) for name in _entries()]
    return [provider for provider in instances if provider is not None and provider.is_configured()]


def providers_reset() -> None:
    """Forget the built instances (tests that change settings)."""
    _instance.cache_clear()
