"""The device API as the agent uses it (docs/gates.md), over ``requests``.

Errors come in two kinds. ``PlatformUnavailable``: no usable answer (timeout, connection error, 5xx,
429, a refused key, an unreadable body) — the caller falls back to its offline behaviour and retries
later. ``PlatformRejected``: the platform answered 400 (the request itself is wrong; repeating it
will not help).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import requests

from . import AGENT_VERSION
from .reading import ENTRY, Reading

PREFIX: Final = "/api/v1"


class PlatformError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PlatformUnavailable(PlatformError):
    """No usable answer now; try again later (or decide offline)."""


class PlatformRejected(PlatformError):
    """HTTP 400: the platform refuses the request as malformed."""


class PlatformClient:
    """One ``requests.Session`` (keep-alive) with the device key. Timeouts are per phase (connect,
    read) in seconds."""

    def __init__(self, *, url: str, key: str, timeout: float = 5.0) -> None:
        self.base = url.rstrip("/") + PREFIX
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Gate {key}", "User-Agent": AGENT_VERSION, "Accept": "application/json"}
        )

    def close(self) -> None:
        self.session.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        timeout: float | None = None,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        public: bool = False,
    ) -> Any:
        wait = self.timeout if timeout is None else timeout
        try:
            response = self.session.request(
                method,
                self.base + path,
                params=params,
                json=body,
                timeout=(wait, wait),
                # A public endpoint gets no device key (requests drops a header set to None).
                headers={"Authorization": None} if public else None,  # type: ignore[dict-item]
            )
        except requests.RequestException as exc:
            raise PlatformUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if response.status_code == 400:
            raise PlatformRejected(f"{method} {path}: 400 {response.text[:300]}", status=400)
        if response.status_code != 200:
            raise PlatformUnavailable(f"{method} {path}: HTTP {response.status_code}", status=response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise PlatformUnavailable(f"{method} {path}: the answer is not JSON", status=200) from exc

    # ------------------------------------------------------------------ decisions
    def decide(
        self, *, kind: str, event_id: str, occurred_at: datetime, reading: Reading, timeout: float
    ) -> dict[str, Any]:
        """The live decision: ``{decision, reason_code, message, open_seconds, booking, …}``."""
        path = "/gates/check-in/" if kind == ENTRY else "/gates/check-out/"
        answer = self._call(
            "POST",
            path,
            timeout=timeout,
            body={"event_id": event_id, "occurred_at": occurred_at.isoformat(), **reading.payload()},
        )
        if (
            not isinstance(answer, dict)
            or answer.get("decision") not in ("open", "deny")
            or not isinstance(answer.get("reason_code"), str)
        ):
            raise PlatformUnavailable(f"POST {path}: unexpected answer")
        return answer

    # ------------------------------------------------------------------ sync
    def credential_keys(self) -> dict[str, Any]:
        """The public JWK set (no device key is sent: the endpoint is public)."""
        answer = self._call("GET", "/bookings/credential-keys/", public=True)
        if not isinstance(answer, dict):
            raise PlatformUnavailable("GET /bookings/credential-keys/: unexpected answer")
        return answer

    def snapshot(self, since: int | None = None) -> dict[str, Any]:
        params = {"since": since} if since is not None else None
        answer = self._call("GET", "/gates/snapshot/", params=params)
        if not isinstance(answer, dict):
            raise PlatformUnavailable("GET /gates/snapshot/: unexpected answer")
        return answer

    def poll(self) -> dict[str, Any]:
        answer = self._call("GET", "/gates/poll/", params={"software_version": AGENT_VERSION})
        if not isinstance(answer, dict) or not isinstance(answer.get("commands", []), list):
            raise PlatformUnavailable("GET /gates/poll/: unexpected answer")
        return answer

    def ack(self, command_id: int) -> None:
        self._call("POST", f"/gates/commands/{int(command_id)}/ack/")

    def upload(self, events: list[dict[str, Any]], timeout: float | None = None) -> list[dict[str, Any]]:
        """Upload offline events; the per-event results ``{event_id, status, decision, reason_code}``."""
        answer = self._call("POST", "/gates/events/", body={"events": events}, timeout=timeout)
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise PlatformUnavailable("POST /gates/events/: unexpected answer")
        return [r for r in results if isinstance(r, dict)]
