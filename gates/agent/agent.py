"""The agent: one decision per read, and the background work that keeps the gate ready for an outage.

Decision flow (``Agent.decide``):

1. A read the platform would reject as malformed is denied ``invalid_credential`` at once (it could
   never be uploaded, so it is not queued).
2. If offline events are still queued, they are uploaded first (within the decision timeout): the
   platform's live answer is right only once it knows everything this gate did. If that fails the
   platform is treated as unreachable.
3. The live call (``check-in`` / ``check-out``) with a short timeout (0.3 s by default, per phase).
   Its answer is used as is; an opening is remembered in ``presence`` for anti-passback.
4. Otherwise (timeout, connection error, 5xx, 429, a refused key): the offline rules
   (``offline.decide_offline``) on the held snapshot. The event — the same ``event_id`` the live call
   carried, so a call that reached the platform after all is answered ``duplicate`` on upload, the
   device time, the credential, the decision and its reason — is committed to the outbox together
   with the presence change, durably, and only then is the barrier opened. ``snapshot_stale`` also
   raises the alarm.

Background (``Agent.run``, a thread; every step survives any error and is retried on the next round):
poll every ``poll_interval`` (heartbeat, configuration, commands — each executed at most once and
acknowledged until the platform took the ack), upload the outbox in device-time order in batches
(a row is deleted only when the platform answered ``applied``, ``flagged`` or ``duplicate`` for it),
and refresh the snapshot every ``sync_interval`` — incrementally with ``since``, fully on start and
every ``full_sync_interval``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from .client import PlatformClient, PlatformError, PlatformRejected, PlatformUnavailable
from .hardware import ConsoleHardware, GateHardware
from .offline import decide_offline
from .reading import DENY, ENTRY, EXIT, KINDS, OPEN, SNAPSHOT_STALE, Outcome, Reading, message_for
from .snapshot import SnapshotRejected, snapshot_verify
from .state import INSIDE, LEFT, OutboxEvent, State

logger = logging.getLogger("gates.agent")

ACKNOWLEDGED: Final = frozenset({"applied", "flagged", "duplicate"})
_ENTERS: Final = frozenset({"ok", "re_entry", "drive_in_started"})


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AgentSettings:
    url: str
    key: str
    state_path: Path
    #: Live decision timeout, seconds (connect and read each).
    decision_timeout: float = 0.3
    #: Timeout of the background requests (poll, snapshot, upload), seconds.
    request_timeout: float = 5.0
    poll_interval: float = 5.0
    sync_interval: float = 60.0
    full_sync_interval: float = 3600.0
    batch_size: int = 100


class Agent:
    """One gate lane. ``start()`` runs a first sync and the background thread; ``stop()`` ends them."""

    def __init__(
        self,
        settings: AgentSettings,
        *,
        hardware: GateHardware | None = None,
        clock: Callable[[], datetime] = utc_now,
        client: PlatformClient | None = None,
        state: State | None = None,
    ) -> None:
        self.settings = settings
        self.hardware: GateHardware = hardware or ConsoleHardware()
        self.clock = clock
        self.client = client or PlatformClient(url=settings.url, key=settings.key, timeout=settings.request_timeout)
        self.state = state or State(settings.state_path)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._need_full = True
        self._last_full: float | None = None
        self._reachable: bool | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """A first round now (keys, full snapshot, poll, upload), then the background thread."""
        self._guarded(self.sync, full=True)
        self._guarded(self.poll)
        self._guarded(self.flush)
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="gate-agent-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread, try one last upload, release the state file."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.request_timeout * 4)
            self._thread = None
        self._guarded(self.flush)
        self.close()

    def close(self) -> None:
        self.client.close()
        self.state.close()

    def run(self) -> None:
        """The background loop (until ``stop()``); the first round is ``start()``'s."""
        next_poll = time.monotonic() + self.settings.poll_interval
        next_sync = time.monotonic() + self.settings.sync_interval
        while not self._stop.wait(max(0.0, min(next_poll, next_sync) - time.monotonic())):
            now = time.monotonic()
            if now >= next_poll:
                self._guarded(self.poll)
                self._guarded(self.flush)
                next_poll = now + self.settings.poll_interval
            if now >= next_sync:
                self._guarded(self.sync, full=self._full_due())
                next_sync = now + self.settings.sync_interval

    def _guarded(self, step: Callable[..., Any], **kwargs: Any) -> None:
        try:
            step(**kwargs)
        except Exception:
            logger.exception("%s failed; retrying on the next round", getattr(step, "__name__", step))

    def _full_due(self) -> bool:
        return self._last_full is None or time.monotonic() - self._last_full >= self.settings.full_sync_interval

    def _reached(self) -> None:
        if self._reachable is not True:
            logger.info("platform reachable")
        self._reachable = True

    def _unreachable(self, error: Exception) -> None:
        if self._reachable is not False:
            logger.warning("platform unreachable (%s): deciding offline until it is back", error)
        self._reachable = False

    # ------------------------------------------------------------------ decisions
    def entry(self, reading: Reading) -> Outcome:
        return self.decide(ENTRY, reading)

    def exit(self, reading: Reading) -> Outcome:
        return self.decide(EXIT, reading)

    def decide(self, kind: str, reading: Reading) -> Outcome:
        """Decide one read and drive the hardware; returns what was decided and done."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        event_id = str(uuid.uuid4())
        at = self.clock()
        problem = reading.problem()
        if problem is not None:
            logger.warning("event %s: unusable read (%s): denied, not recorded", event_id, problem)
            return self._act(self._outcome(event_id, kind, at, DENY, "invalid_credential", True))
        answer = self._ask_platform(kind, event_id, at, reading)
        if answer is not None:
            return self._act(self._live(kind, event_id, at, answer))
        verdict = decide_offline(self.state, kind=kind, reading=reading, at=at)
        if verdict.reason == SNAPSHOT_STALE:
            logger.error("event %s: no valid snapshot (missing or past valid_until): denying", event_id)
            try:
                self.hardware.alarm("offline and the snapshot is stale: manual operation needed")
            except Exception:
                logger.exception("event %s: the alarm failed", event_id)
        self.state.record_offline(
            OutboxEvent(event_id, kind, at, verdict.decision, verdict.reason, reading.payload()),
            reference=verdict.reference,
            presence=verdict.presence if verdict.opens else None,
        )
        outcome = self._outcome(event_id, kind, at, verdict.decision, verdict.reason, True, verdict.reference)
        logger.info("event %s: %s %s %s (offline)", event_id, kind, outcome.decision, outcome.reason_code)
        return self._act(outcome)

    def _outcome(
        self,
        event_id: str,
        kind: str,
        at: datetime,
        decision: str,
        reason: str,
        offline: bool,
        reference: str | None = None,
    ) -> Outcome:
        return Outcome(
            event_id=event_id,
            kind=kind,
            occurred_at=at,
            decision=decision,
            reason_code=reason,
            message=message_for(reason),
            open_seconds=self.state.config().open_seconds,
            offline=offline,
            reference=reference,
        )

    def _ask_platform(self, kind: str, event_id: str, at: datetime, reading: Reading) -> dict[str, Any] | None:
        timeout = self.settings.decision_timeout
        if self.state.outbox_count() and not self._drain(timeout):
            return None
        try:
            answer = self.client.decide(kind=kind, event_id=event_id, occurred_at=at, reading=reading, timeout=timeout)
        except PlatformRejected as exc:
            logger.warning("event %s: the platform refused the read as malformed (%s)", event_id, exc)
            return {"decision": DENY, "reason_code": "invalid_credential", "message": message_for("invalid_credential")}
        except PlatformUnavailable as exc:
            self._unreachable(exc)
            return None
        self._reached()
        return answer

    def _live(self, kind: str, event_id: str, at: datetime, answer: dict[str, Any]) -> Outcome:
        booking = answer.get("booking")
        reference = str(booking["reference"]) if isinstance(booking, dict) and booking.get("reference") else None
        decision, reason = str(answer["decision"]), str(answer["reason_code"])
        if reference and decision == OPEN and (kind == EXIT or reason in _ENTERS):
            self.state.record_presence(
                reference=reference, state=INSIDE if kind == ENTRY else LEFT, occurred_at=at, event_id=event_id
            )
        seconds = answer.get("open_seconds")
        return Outcome(
            event_id=event_id,
            kind=kind,
            occurred_at=at,
            decision=decision,
            reason_code=reason,
            message=str(answer.get("message") or message_for(reason)),
            open_seconds=seconds if isinstance(seconds, int) else self.state.config().open_seconds,
            offline=False,
            reference=reference,
            extra={k: answer[k] for k in ("amount_due", "payment") if answer.get(k) is not None},
        )

    def _act(self, outcome: Outcome) -> Outcome:
        try:
            self.hardware.show(outcome.message)
            if outcome.opens:
                self.hardware.open(outcome.open_seconds)
        except Exception:
            logger.exception("event %s: the hardware failed", outcome.event_id)
        return outcome

    # ------------------------------------------------------------------ outbox
    def _drain(self, timeout: float) -> bool:
        """Upload the queue before a live call; ``True`` if it is empty afterwards. Does not wait for
        an upload the background thread is running (the read is then decided offline)."""
        if not self._flush_lock.acquire(blocking=False):
            return False
        try:
            self._flush(timeout, count_failure=False)
        finally:
            self._flush_lock.release()
        return self.state.outbox_count() == 0

    def flush(self, timeout: float | None = None) -> int:
        """Upload queued events, oldest first, in batches; the number the platform acknowledged."""
        with self._flush_lock:
            return self._flush(timeout)

    def _flush(self, timeout: float | None, count_failure: bool = True) -> int:
        acknowledged = 0
        while True:
            batch = self.state.outbox(self.settings.batch_size)
            if not batch:
                if acknowledged:
                    logger.info("uploaded %d offline event(s); the outbox is empty", acknowledged)
                return acknowledged
            try:
                results = self.client.upload([event.upload_body() for event in batch], timeout=timeout)
            except PlatformRejected as exc:
                logger.error("the platform refused an upload batch (%s); sending its events one by one", exc)
                done, stopped = self._flush_singly(batch, timeout)
                acknowledged += done
                if stopped:
                    return acknowledged
                continue
            except PlatformUnavailable as exc:
                if count_failure:
                    self.state.outbox_failed([event.event_id for event in batch], str(exc))
                self._unreachable(exc)
                return acknowledged
            self._reached()
            done = self._acknowledge(batch, results)
            acknowledged += done
            if done < len(batch):
                logger.warning("%d event(s) not acknowledged; retrying on the next round", len(batch) - done)
                return acknowledged

    def _flush_singly(self, batch: list[OutboxEvent], timeout: float | None) -> tuple[int, bool]:
        done = 0
        for event in batch:
            try:
                results = self.client.upload([event.upload_body()], timeout=timeout)
            except PlatformRejected as exc:
                logger.error("event %s refused as malformed; moved to dead_letter: %s", event.event_id, exc)
                self.state.outbox_dead(event.event_id, str(exc))
                continue
            except PlatformUnavailable as exc:
                self._unreachable(exc)
                return done, True
            done += self._acknowledge([event], results)
        return done, False

    def _acknowledge(self, batch: list[OutboxEvent], results: list[dict[str, Any]]) -> int:
        by_id = {str(result.get("event_id")): result for result in results}
        done = []
        for event in batch:
            result = by_id.get(event.event_id)
            if result is None or result.get("status") not in ACKNOWLEDGED:
                continue
            done.append(event.event_id)
            if result["status"] == "flagged":
                logger.warning("event %s was flagged for staff review (%s)", event.event_id, result.get("reason_code"))
            elif result.get("decision") not in (None, event.decision):
                # The live call reached the platform after all and it decided otherwise: its record stands.
                logger.warning(
                    "event %s: the platform recorded %s/%s, the gate did %s/%s",
                    event.event_id,
                    result.get("decision"),
                    result.get("reason_code"),
                    event.decision,
                    event.reason_code,
                )
        self.state.outbox_done(done)
        return len(done)

    # ------------------------------------------------------------------ snapshot
    def ensure_keys(self) -> bool:
        """Pin the platform's credential keys on first start (trust on first use); ``True`` if pinned."""
        if self.state.pinned_keys():
            return True
        try:
            jwks = self.client.credential_keys()
        except PlatformError as exc:
            logger.warning("cannot fetch the credential keys to pin (%s)", exc)
            return False
        try:
            added = self.state.pin_keys(jwks, source="credential-keys", now=self.clock())
        except ValueError as exc:
            logger.error("the published credential keys are unusable: %s", exc)
            return False
        if added:
            logger.info("pinned credential key(s) %s", ", ".join(added))
        return bool(added)

    def sync(self, full: bool = False) -> bool:
        """Fetch, verify and apply a snapshot (incremental unless ``full`` or none is held). A rejected
        snapshot is logged at ERROR and the held one kept."""
        with self._sync_lock:
            if not self.ensure_keys():
                return False
            held = self.state.held()
            incremental = not full and not self._need_full and held.version is not None
            try:
                document = self.client.snapshot(since=held.version if incremental else None)
            except PlatformError as exc:
                self._unreachable(exc)
                return False
            self._reached()
            try:
                data = snapshot_verify(document, pinned=self.state.pinned_keys(), held=held, now=self.clock())
            except SnapshotRejected as exc:
                logger.error("snapshot rejected (%s); keeping version %s", exc, held.version)
                if exc.code == "not_continuous":
                    self._need_full = True
                return False
            self.state.apply_snapshot(data, now=self.clock())
            if data.get("full"):
                self._need_full = False
                self._last_full = time.monotonic()
            logger.info(
                "snapshot %s applied (%s, %d bookings, %d removed)",
                data["version"],
                "full" if data.get("full") else "incremental",
                len(data["bookings"]),
                len(data["removed"]),
            )
            return True

    # ------------------------------------------------------------------ poll and commands
    def poll(self) -> int:
        """Heartbeat: store the gate's configuration, execute new commands, acknowledge them."""
        try:
            answer = self.client.poll()
        except PlatformError as exc:
            self._unreachable(exc)
            return 0
        self._reached()
        if isinstance(answer.get("config"), dict) and self.state.save_config(answer["config"]):
            logger.info("gate configuration updated")
        executed = 0
        for command in answer.get("commands", []):
            if not isinstance(command, dict) or not isinstance(command.get("id"), int):
                continue
            kind = str(command.get("kind"))
            # Recorded before it runs: executed at most once even if the ack is lost or we crash.
            if self.state.command_receive(command["id"], kind, self.clock()):
                self._execute(command["id"], kind, str(command.get("reason") or ""))
                executed += 1
        self._ack_pending()
        return executed

    def _execute(self, command_id: int, kind: str, reason: str) -> None:
        logger.info("command %s: %s%s", command_id, kind, f" ({reason})" if reason else "")
        try:
            if kind == "open":
                self.hardware.show("Opened by staff")
                self.hardware.open(self.state.config().open_seconds)
            elif kind == "close":
                self.hardware.close()
            elif kind == "sync":
                self.sync(full=True)
            elif kind == "reboot":
                logger.warning("command %s: reboot requested; restart the agent's service to apply it", command_id)
            else:
                logger.warning("command %s: unknown kind %r ignored", command_id, kind)
        except Exception:
            logger.exception("command %s (%s) failed", command_id, kind)

    def _ack_pending(self) -> None:
        for command_id in self.state.commands_unacked():
            try:
                self.client.ack(command_id)
            except PlatformUnavailable as exc:
                if exc.status != 404:  # 404: the platform no longer has it; nothing to acknowledge
                    self._unreachable(exc)
                    return
            except PlatformRejected:
                pass
            self.state.command_acked(command_id, self.clock())
