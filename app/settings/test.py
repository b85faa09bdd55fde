"""Test settings: real PostgreSQL (DATABASE_URL or the embedded server) and real Redis (REDIS_URL)."""

import os

from app.settings.base import *  # noqa: F403
from app.settings.base import DATABASES, REST_FRAMEWORK, database_from_url, env

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

if not DATABASES:
    from app import embedded_db

    DATABASES = {"default": database_from_url(embedded_db.ensure_running())}

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/15")
# Each xdist worker gets its own key prefix so parallel tests never share throttle counters.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
CACHES = {
    "default": {
        "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"test-{_WORKER}",
        "OPTIONS": {"IGNORE_EXCEPTIONS": False},
    }
}
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

PLATE_ENCRYPTION_KEYS = ["0B4K2J0ZoHq6pJ8V7oCk1f5y3bq2m6vF6w9rN1xT0aY="]
PLATE_INDEX_KEY = "test-plate-index-key"  # noqa: S105
# A fixed Ed25519 seed (tests only) so credentials are reproducible; tests that rotate override it.
CREDENTIAL_SIGNING_KEYS = ["8DP9kEf-AbKJ-FI3tNYmM5M4UwqTm9nIHCIQ6tg2_28"]

REST_FRAMEWORK = {**REST_FRAMEWORK, "TEST_REQUEST_DEFAULT_FORMAT": "json"}
LOGGING_CONFIG = None  # pytest captures logging itself

# No collectstatic in tests: WhiteNoise serves from the finders.
STATIC_ROOT = None  # type: ignore[assignment]
WHITENOISE_USE_FINDERS = True
