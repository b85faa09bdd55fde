"""Quickstart / local development: embedded PostgreSQL unless DATABASE_URL is set, console email.

With nothing configured (no REDIS_URL, no CELERY_BROKER_URL) no server besides this project's own
processes is needed: the cache is local memory (base.py) and Celery uses kombu's ``filesystem://``
transport with its message folders under ``.data/celery`` (git-ignored), so the web process, the
worker and beat of `make run` still exchange real messages.
"""

from typing import Any

from app.settings.base import *  # noqa: F403
from app.settings.base import (
    BASE_DIR,
    CREDENTIAL_SIGNING_KEYS,
    DATABASES,
    PAYMENT_PROVIDERS,
    PAYMENTS_SANDBOX_ENABLED,
    PLATE_ENCRYPTION_KEYS,
    PLATE_INDEX_KEY,
    REDIS_URL,
    database_from_url,
    env,
)

DEBUG = env.bool("DEBUG", default=True)
# The sandbox payment provider is on in development (local demos without provider keys).
_sandbox: dict[str, Any] = {**PAYMENT_PROVIDERS["sandbox"], "config": {"enabled": DEBUG or PAYMENTS_SANDBOX_ENABLED}}
PAYMENT_PROVIDERS = {**PAYMENT_PROVIDERS, "sandbox": _sandbox}
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

if not DATABASES:
    from app import embedded_db

    DATABASES = {"default": database_from_url(embedded_db.ensure_running())}

if not REDIS_URL and not env.str("CELERY_BROKER_URL", default=""):
    CELERY_DATA_DIR = BASE_DIR / ".data" / "celery"
    _folders = {name: CELERY_DATA_DIR / name for name in ("queue", "processed", "control")}
    for _folder in _folders.values():
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"  # the host is ignored; naming it avoids a warning
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # One folder for both directions: producers write into it and the worker reads from it.
        "data_folder_in": str(_folders["queue"]),
        "data_folder_out": str(_folders["queue"]),
        "processed_folder": str(_folders["processed"]),
        "store_processed": False,
        # Exchange tables (fanout for remote control / beat) live here.
        "control_folder": str(_folders["control"]),
    }

# Plate keys and the gate-credential signing key: quickstart generates its own once and keeps them
# under .data/ (git-ignored), so vehicles and QR credentials work out of the box and survive restarts.
# Production must set them (prod.py refuses to start).
if not PLATE_ENCRYPTION_KEYS or not PLATE_INDEX_KEY or not CREDENTIAL_SIGNING_KEYS:
    import json
    import secrets

    from cryptography.fernet import Fernet

    _secrets_file = BASE_DIR / ".data" / "dev-secrets.json"
    if _secrets_file.exists():
        _dev_secrets = json.loads(_secrets_file.read_text())
    else:
        _secrets_file.parent.mkdir(parents=True, exist_ok=True)
        _dev_secrets = {
            "plate_encryption_key": Fernet.generate_key().decode(),
            "plate_index_key": secrets.token_hex(32),
        }
    # Added after the plate keys: a secrets file from before gets the key on its next start.
    # Any 32 random bytes are an Ed25519 seed; the format is base64url without padding.
    if "credential_signing_key" not in _dev_secrets:
        _dev_secrets["credential_signing_key"] = secrets.token_urlsafe(32)
        _secrets_file.write_text(json.dumps(_dev_secrets))
        _secrets_file.chmod(0o600)
    PLATE_ENCRYPTION_KEYS = PLATE_ENCRYPTION_KEYS or [_dev_secrets["plate_encryption_key"]]
    PLATE_INDEX_KEY = PLATE_INDEX_KEY or _dev_secrets["plate_index_key"]
    CREDENTIAL_SIGNING_KEYS = CREDENTIAL_SIGNING_KEYS or [_dev_secrets["credential_signing_key"]]
