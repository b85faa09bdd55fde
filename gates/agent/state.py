"""The agent's durable state: one SQLite file (WAL journal, ``synchronous=FULL``).

Tables (``PRAGMA user_version`` = 1):

- ``meta(key, value)`` — the held snapshot's ``version``, ``valid_until``, ``generated_at``, ``facility``,
  ``gate``, ``timezone``, ``anti_passback``, ``credential_keys`` (JWK set, JSON) and the gate ``config``
  from the last poll (JSON);
- ``pinned_keys(kid, x, source, pinned_at)`` — the Ed25519 keys snapshots must be signed with;
- ``bookings(reference PK, kind, status, plate_index, entry_from, start, end, spot, zone)`` and
  ``passes(id PK, plate_indexes, valid_from, valid_until, weekdays, start_time, end_time)`` — the
  verified snapshot content;
- ``presence(reference PK, state 'inside'|'left', occurred_at, event_id)`` — what this gate itself let
  in and out (live and offline), for anti-passback between snapshots;
- ``outbox(seq PK, event_id UNIQUE, kind, occurred_at, occurred_us, decision, reason_code, credential,
  created_at, attempts, last_error)`` — decisions taken offline, until the platform acknowledged them;
- ``dead_letter(...)`` — outbox rows the platform refused as malformed (HTTP 400 on their own): kept for
  staff, out of the way of the others;
- ``commands(id PK, kind, received_at, acked_at)`` — commands received (each executed at most once).

Every write is one transaction; with ``synchronous=FULL`` a commit is on disk (the WAL is fsynced)
before ``commit`` returns — the agent relies on this to commit an offline event before it opens the
barrier. The connection is shared by the agent's threads behind a lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bookings.credentials import public_keys_from_jwks

from .snapshot import Held, parse_time

SCHEMA_VERSION: Final = 1
#: Local memory is kept this long: an expired QR still opens the exit for a week (as on the server).
RETENTION: Final = timedelta(days=8)
INSIDE: Final = "inside"
LEFT: Final = "left"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pinned_keys (
    kid TEXT PRIMARY KEY, x TEXT NOT NULL, source TEXT NOT NULL, pinned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bookings (
    reference TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, plate_index TEXT NOT NULL,
    entry_from TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL, spot TEXT NOT NULL, zone TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bookings_plate ON bookings (plate_index) WHERE plate_index != '';
CREATE TABLE IF NOT EXISTS passes (
    id INTEGER PRIMARY KEY, plate_indexes TEXT NOT NULL, valid_from TEXT NOT NULL, valid_until TEXT NOT NULL,
    weekdays TEXT NOT NULL, start_time TEXT, end_time TEXT
);
CREATE TABLE IF NOT EXISTS presence (
    reference TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN ('inside', 'left')),
    occurred_at TEXT NOT NULL, event_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
    occurred_at TEXT NOT NULL, occurred_us INTEGER NOT NULL, decision TEXT NOT NULL, reason_code TEXT NOT NULL,
    credential TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (occurred_us, seq);
CREATE TABLE IF NOT EXISTS dead_letter (
    event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, occurred_at TEXT NOT NULL, decision TEXT NOT NULL,
    reason_code TEXT NOT NULL, credential TEXT NOT NULL, error TEXT NOT NULL, moved_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, received_at TEXT NOT NULL, acked_at TEXT
);
"""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class BookingRow:
    reference: str
    kind: str
    status: str
    plate_index: str
    entry_from: datetime
    start: datetime
    end: datetime
    spot: str
    zone: str


@dataclass(frozen=True)
class PassRow:
    id: int
    plate_indexes: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    weekdays: tuple[int, ...]
    start_time: time | None
    end_time: time | None


@dataclass(frozen=True)
class SnapshotMeta:
    version: int
    generated_at: datetime | None
    valid_until: datetime
    facility: int
    gate: int
    timezone: str
    anti_passback: bool
    credential_keys: dict[str, Any]


@dataclass(frozen=True)
class GateConfig:
    """The gate's configuration as the last poll returned it (defaults until then)."""

    direction: str = "both"
    accepted_credentials: tuple[str, ...] = ("qr", "plate", "reference", "ticket")
    anti_passback: bool | None = None
    open_seconds: int = 8
    plate_confidence_threshold: Decimal = Decimal("0.9")
    allow_drive_in: bool = False

    @classmethod
    def from_poll(cls, config: Mapping[str, Any]) -> GateConfig:
        default = cls()
        accepted = config.get("accepted_credentials")
        return cls(
            direction=str(config.get("direction", default.direction)),
            accepted_credentials=tuple(accepted) if isinstance(accepted, list) else default.accepted_credentials,
            anti_passback=bool(config["anti_passback"]) if "anti_passback" in config else None,
            open_seconds=int(config.get("open_seconds", default.open_seconds)),
            plate_confidence_threshold=Decimal(
                str(config.get("plate_confidence_threshold", default.plate_confidence_threshold))
            ),
            allow_drive_in=bool(config.get("allow_drive_in", default.allow_drive_in)),
        )


@dataclass(frozen=True)
class Presence:
    reference: str
    state: str
    occurred_at: datetime
    event_id: str


@dataclass(frozen=True)
class OutboxEvent:
    event_id: str
    kind: str
    occurred_at: datetime
    decision: str
    reason_code: str
    credential: dict[str, Any]
    attempts: int = 0

    def upload_body(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "occurred_at": self.occurred_at.isoformat(),
            "decision": self.decision,
            "reason_code": self.reason_code,
            **self.credential,
        }


class State:
    """The state file. ``State(path)`` creates or opens it; ``close()`` when done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        # isolation_level=None: no implicit transactions; every write below opens its own.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        self._db.row_factory = sqlite3.Row
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self.path}: the state file cannot use the WAL journal ({mode})")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        with self._tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: state schema {version} is newer than this agent")
            self._create_schema(db)

    @staticmethod
    def _create_schema(db: sqlite3.Connection) -> None:
        # Statement by statement: executescript() would commit on its own, outside the transaction.
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, query: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(query, tuple(params)))

    # ------------------------------------------------------------------ meta
    def _meta(self) -> dict[str, str]:
        return {row["key"]: row["value"] for row in self._read("SELECT key, value FROM meta")}

    @staticmethod
    def _set_meta(db: sqlite3.Connection, values: Mapping[str, str]) -> None:
        db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )

    def config(self) -> GateConfig:
        raw = self._meta().get("config")
        return GateConfig.from_poll(json.loads(raw)) if raw else GateConfig()

    def save_config(self, config: Mapping[str, Any]) -> bool:
        """Store the gate configuration; ``False`` (and no write) when it did not change."""
        text = json.dumps(dict(config), sort_keys=True)
        if self._meta().get("config") == text:
            return False
        with self._tx() as db:
            self._set_meta(db, {"config": text})
        return True

    # ------------------------------------------------------------------ keys
    def pinned_keys(self) -> dict[str, Ed25519PublicKey]:
        rows = self._read("SELECT kid, x FROM pinned_keys")
        jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": row["kid"], "x": row["x"]} for row in rows]}
        return public_keys_from_jwks(jwks)

    def pin_keys(self, jwks: Mapping[str, Any], *, source: str, now: datetime) -> list[str]:
        """Pin the Ed25519 keys of a JWK set (their kids are recomputed and checked); the new kids."""
        keys = public_keys_from_jwks(jwks)
        by_kid = {
            str(entry.get("kid")): str(entry.get("x")) for entry in jwks.get("keys", []) if isinstance(entry, dict)
        }
        with self._tx() as db:
            return self._pin(db, {kid: by_kid[kid] for kid in keys}, source, now)

    @staticmethod
    def _pin(db: sqlite3.Connection, keys: Mapping[str, str], source: str, now: datetime) -> list[str]:
        added = []
        for kid, x in keys.items():
            cursor = db.execute(
                "INSERT INTO pinned_keys (kid, x, source, pinned_at) VALUES (?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING",
                (kid, x, source, _iso(now)),
            )
            if cursor.rowcount:
                added.append(kid)
        return added

    # ------------------------------------------------------------------ snapshot
    def held(self) -> Held:
        meta = self._meta()
        return Held(
            version=int(meta["version"]) if "version" in meta else None,
            gate=int(meta["gate"]) if "gate" in meta else None,
            facility=int(meta["facility"]) if "facility" in meta else None,
        )

    def snapshot(self) -> SnapshotMeta | None:
        meta = self._meta()
        if "version" not in meta:
            return None
        return SnapshotMeta(
            version=int(meta["version"]),
            generated_at=datetime.fromisoformat(meta["generated_at"]) if meta.get("generated_at") else None,
            valid_until=datetime.fromisoformat(meta["valid_until"]),
            facility=int(meta["facility"]),
            gate=int(meta["gate"]),
            timezone=meta.get("timezone") or "UTC",
            anti_passback=meta.get("anti_passback") == "1",
            credential_keys=json.loads(meta.get("credential_keys") or '{"keys": []}'),
        )

    def apply_snapshot(self, data: Mapping[str, Any], *, now: datetime) -> None:
        """Apply a *verified* snapshot (``snapshot.snapshot_verify``) in one transaction: a full one
        replaces the bookings, an incremental one upserts its bookings and deletes ``removed``; passes
        are replaced either way. Keys published in it are pinned (it is signed by a pinned key)."""
        rows = [
            (
                row["reference"],
                row["kind"],
                row["status"],
                row.get("plate_index") or "",
                _iso(parse_time(row["entry_from"])),
                _iso(parse_time(row["start"])),
                _iso(parse_time(row["end"])),
                str(row.get("spot", "")),
                str(row.get("zone", "")),
            )
            for row in data["bookings"]
        ]
        passes = [
            (
                int(row["id"]),
                json.dumps(sorted(str(index) for index in row["plate_indexes"])),
                _iso(parse_time(row["valid_from"])),
                _iso(parse_time(row["valid_until"])),
                json.dumps(sorted(int(day) for day in row.get("weekdays") or [])),
                row.get("start_time"),
                row.get("end_time"),
            )
            for row in data["passes"]
        ]
        jwks = data["credential_keys"]
        published = public_keys_from_jwks(jwks)
        x_by_kid = {
            str(entry.get("kid")): str(entry.get("x")) for entry in jwks.get("keys", []) if isinstance(entry, dict)
        }
        with self._tx() as db:
            if data.get("full"):
                db.execute("DELETE FROM bookings")
            else:
                db.executemany("DELETE FROM bookings WHERE reference = ?", [(ref,) for ref in data["removed"]])
            db.executemany(
                'INSERT OR REPLACE INTO bookings (reference, kind, status, plate_index, entry_from, start, "end", '
                "spot, zone) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            db.execute("DELETE FROM passes")
            db.executemany(
                "INSERT INTO passes (id, plate_indexes, valid_from, valid_until, weekdays, start_time, end_time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                passes,
            )
            self._pin(db, {kid: x_by_kid[kid] for kid in published}, "snapshot", now)
            self._set_meta(
                db,
                {
                    "version": str(data["version"]),
                    "generated_at": str(data.get("generated_at") or ""),
                    "valid_until": _iso(parse_time(data["valid_until"])),
                    "facility": str(data["facility"]),
                    "gate": str(data["gate"]),
                    "timezone": str(data.get("timezone") or "UTC"),
                    "anti_passback": "1" if data.get("anti_passback") else "0",
                    "credential_keys": json.dumps(jwks, sort_keys=True),
                },
            )
            # Bookings an incremental snapshot never reports removed (they just ended) and old presence.
            horizon = _iso(now - RETENTION)
            db.execute('DELETE FROM bookings WHERE "end" < ?', (horizon,))
            db.execute("DELETE FROM presence WHERE occurred_at < ?", (horizon,))

    @staticmethod
    def _booking(row: sqlite3.Row) -> BookingRow:
        return BookingRow(
            reference=row["reference"],
            kind=row["kind"],
            status=row["status"],
            plate_index=row["plate_index"],
            entry_from=datetime.fromisoformat(row["entry_from"]),
            start=datetime.fromisoformat(row["start"]),
            end=datetime.fromisoformat(row["end"]),
            spot=row["spot"],
            zone=row["zone"],
        )

    def booking(self, reference: str) -> BookingRow | None:
        rows = self._read("SELECT * FROM bookings WHERE reference = ?", (reference,))
        return self._booking(rows[0]) if rows else None

    def bookings_by_plate(self, plate_index: str) -> list[BookingRow]:
        if not plate_index:
            return []
        rows = self._read("SELECT * FROM bookings WHERE plate_index = ? ORDER BY start, reference", (plate_index,))
        return [self._booking(row) for row in rows]

    def booking_count(self) -> int:
        return int(self._read("SELECT count(*) FROM bookings")[0][0])

    def passes(self) -> list[PassRow]:
        return [
            PassRow(
                id=row["id"],
                plate_indexes=tuple(json.loads(row["plate_indexes"])),
                valid_from=datetime.fromisoformat(row["valid_from"]),
                valid_until=datetime.fromisoformat(row["valid_until"]),
                weekdays=tuple(json.loads(row["weekdays"])),
                start_time=time.fromisoformat(row["start_time"]) if row["start_time"] else None,
                end_time=time.fromisoformat(row["end_time"]) if row["end_time"] else None,
            )
            for row in self._read("SELECT * FROM passes ORDER BY id")
        ]

    # ------------------------------------------------------------------ presence
    def presence(self, reference: str) -> Presence | None:
        rows = self._read("SELECT * FROM presence WHERE reference = ?", (reference,))
        if not rows:
            return None
        row = rows[0]
        return Presence(row["reference"], row["state"], datetime.fromisoformat(row["occurred_at"]), row["event_id"])

    @staticmethod
    def _set_presence(db: sqlite3.Connection, reference: str, state: str, occurred_at: datetime, event_id: str) -> None:
        db.execute(
            "INSERT INTO presence (reference, state, occurred_at, event_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (reference) DO UPDATE SET state = excluded.state, occurred_at = excluded.occurred_at, "
            "event_id = excluded.event_id",
            (reference, state, _iso(occurred_at), event_id),
        )

    def record_presence(self, *, reference: str, state: str, occurred_at: datetime, event_id: str) -> None:
        """What a live decision did (the platform has it already; this is for anti-passback offline)."""
        with self._tx() as db:
            self._set_presence(db, reference, state, occurred_at, event_id)

    # ------------------------------------------------------------------ outbox
    def record_offline(self, event: OutboxEvent, *, reference: str | None = None, presence: str | None = None) -> None:
        """Queue an offline decision and the presence it implies, in one transaction. On return the
        row is on disk (``synchronous=FULL``): only then may the barrier open."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO outbox (event_id, kind, occurred_at, occurred_us, decision, reason_code, credential, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.event_id,
                    event.kind,
                    event.occurred_at.isoformat(),
                    _micros(event.occurred_at),
                    event.decision,
                    event.reason_code,
                    json.dumps(event.credential, sort_keys=True),
                    _iso(datetime.now(UTC)),
                ),
            )
            if reference and presence:
                self._set_presence(db, reference, presence, event.occurred_at, event.event_id)

    def outbox(self, limit: int = 500) -> list[OutboxEvent]:
        """The oldest queued events first (by device time, then by the order they were written)."""
        rows = self._read("SELECT * FROM outbox ORDER BY occurred_us, seq LIMIT ?", (limit,))
        return [
            OutboxEvent(
                event_id=row["event_id"],
                kind=row["kind"],
                occurred_at=datetime.fromisoformat(row["occurred_at"]),
                decision=row["decision"],
                reason_code=row["reason_code"],
                credential=json.loads(row["credential"]),
                attempts=row["attempts"],
            )
            for row in rows
        ]

    def outbox_count(self) -> int:
        return int(self._read("SELECT count(*) FROM outbox")[0][0])

    def outbox_done(self, event_ids: Iterable[str]) -> int:
        """Delete events the platform acknowledged."""
        with self._tx() as db:
            return sum(db.execute("DELETE FROM outbox WHERE event_id = ?", (e,)).rowcount for e in event_ids)

    def outbox_failed(self, event_ids: Iterable[str], error: str) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE event_id = ?",
                [(error[:500], event_id) for event_id in event_ids],
            )

    def outbox_dead(self, event_id: str, error: str) -> None:
        """Move an event the platform refuses as malformed out of the queue (kept in ``dead_letter``)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO dead_letter (event_id, kind, occurred_at, decision, reason_code, credential, "
                "error, moved_at) SELECT event_id, kind, occurred_at, decision, reason_code, credential, ?, ? "
                "FROM outbox WHERE event_id = ?",
                (error[:500], _iso(datetime.now(UTC)), event_id),
            )
            db.execute("DELETE FROM outbox WHERE event_id = ?", (event_id,))

    def dead_letters(self) -> list[str]:
        return [row["event_id"] for row in self._read("SELECT event_id FROM dead_letter ORDER BY occurred_at")]

    # ------------------------------------------------------------------ commands
    def command_receive(self, command_id: int, kind: str, now: datetime) -> bool:
        """Record a received command; ``False`` if it was received before (do not execute it again)."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO commands (id, kind, received_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (command_id, kind, _iso(now)),
            )
            return bool(cursor.rowcount)

    def command_acked(self, command_id: int, now: datetime) -> None:
        with self._tx() as db:
            db.execute("UPDATE commands SET acked_at = ? WHERE id = ?", (_iso(now), command_id))

    def commands_unacked(self) -> list[int]:
        return [row["id"] for row in self._read("SELECT id FROM commands WHERE acked_at IS NULL ORDER BY id")]
