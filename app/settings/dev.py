"""Quickstart / local development: embedded PostgreSQL unless DATABASE_URL is set, console email.

With nothing configured (no REDIS_URL, no CELERY_BROKER_URL) no server besides this project's own
processes is needed: the cache is local memory (base.py) and Celery uses kombu's ``filesystem://``
transport with its message folders under ``.data/celery`` (git-ignored), so the web process, the
worker and beat of `make run` still exchange real messages.
"""

from app.settings.base import *  # noqa: F403
from app.settings.base import BASE_DIR, DATABASES, REDIS_URL, database_from_url, env

DEBUG = env.bool("DEBUG", default=True)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

if not DATABASES:
    from app import embedded_db

    DATABASES = {"default": database_from_url(embedded_db.ensure_running())}

if not REDIS_URL and not env.str("CELERY_BROKER_URL", default=""):
    CELERY_DATA_DIR = BASE_DIR / ".data" / "celery"
    _folders = {name: CELERY_DATA_DIR / name for name in ("queue", "processed", "control")}
    for _folder in _folders.values():
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # One folder for both directions: producers write into it and the worker reads from it.
        "data_folder_in": str(_folders["queue"]),
        "data_folder_out": str(_folders["queue"]),
        "processed_folder": str(_folders["processed"]),
        "store_processed": False,
        # Exchange tables (fanout for remote control / beat) live here.
        "control_folder": str(_folders["control"]),
    }
