"""The one place the environment is read (django-environ)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's .env (never committed) is read if present; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
