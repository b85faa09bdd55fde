"""Production: refuses to start insecure (ARCHITECTURE §7)."""

import copy
from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured

from app.settings.base import *  # noqa: F403
from app.settings.base import (
    CREDENTIAL_SIGNING_KEYS,
    DATABASES,
    DEBUG,
    LOGGING,
    PAYMENTS_SANDBOX_ENABLED,
    PLATE_ENCRYPTION_KEYS,
    PLATE_INDEX_KEY,
    REDIS_URL,
    SECRET_KEY,
    env,
)
from bookings.credentials import CredentialKeyError, parse_signing_keys

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")
if not SECRET_KEY or SECRET_KEY.startswith("dev-insecure") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 50 characters.")
if not DATABASES:
    raise ImproperlyConfigured("DATABASE_URL must be set in production.")
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must be set in production.")
if not PLATE_ENCRYPTION_KEYS or not PLATE_INDEX_KEY:
    raise ImproperlyConfigured("PLATE_ENCRYPTION_KEYS and PLATE_INDEX_KEY must be set in production.")
if not CREDENTIAL_SIGNING_KEYS:
    raise ImproperlyConfigured("CREDENTIAL_SIGNING_KEYS must be set in production (Ed25519 seeds, base64url).")
if PAYMENTS_SANDBOX_ENABLED:
    raise ImproperlyConfigured("PAYMENTS_SANDBOX_ENABLED must be off in production (the sandbox confirms unpaid).")
try:
    parse_signing_keys(CREDENTIAL_SIGNING_KEYS)
except CredentialKeyError as _exc:  # the message names the key's position, never its value
    raise ImproperlyConfigured(f"CREDENTIAL_SIGNING_KEYS: {_exc}.") from None

LOG_JSON = env.bool("LOG_JSON", default=True)
LOGGING = copy.deepcopy(LOGGING)
cast(dict[str, Any], LOGGING["formatters"])["structured"]["json"] = LOG_JSON

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^ready/$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preloading is a commitment browsers keep for months (every subdomain HTTPS-only), so it is opt-in.
# Leaving it off is a decision, not an oversight: silence the deploy check's reminder (W021) then.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
