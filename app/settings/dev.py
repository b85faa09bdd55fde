"""Quickstart / local development: embedded PostgreSQL unless DATABASE_URL is set, console email."""

from app.settings.base import *  # noqa: F403
from app.settings.base import DATABASES, database_from_url, env

DEBUG = env.bool("DEBUG", default=True)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

if not DATABASES:
    from app import embedded_db

    DATABASES = {"default": database_from_url(embedded_db.ensure_running())}
