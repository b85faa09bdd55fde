"""The edge agent (gates/agent/) against a platform mocked at the HTTP transport (``responses``):
snapshot verification and incremental apply, the offline decision rules, the durable outbox and its
upload, commands, the live path and its fallbacks. Snapshots and QR codes are signed with an Ed25519
key generated here."""

import dataclasses
import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from bookings import services as booking_services
from bookings.credentials import (
    SigningKey,
    b64url_encode,
    credential_build,
    credential_issue,
    key_id,
    public_jwks,
    signing_keys_from_settings,
)
from bookings.models import Booking
from gates import services
from gates.agent import offline
from gates.agent.agent import Agent, AgentSettings
from gates.agent.cli import parse_reading
from gates.agent.offline import decide_offline
from gates.agent.reading import MESSAGES, Reading
from gates.agent.snapshot import canonical
from gates.agent.state import State
from gates.snapshot import snapshot_build
from parking.tests.factories import make_facility, make_spot, make_zone
from pricing import services as pricing_services
from vehicles.tests.factories import VehicleFactory

URL = "http://platform.test"
API = URL + "/api/v1"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
FACILITY, GATE = 7, 3


def _key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    return SigningKey(kid=key_id(private.public_key()), private_key=private)


PLATFORM_KEY = _key()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Hardware:
    """Records what the agent did; ``on_open`` runs inside ``open()`` (to look at the state then)."""

    def __init__(self) -> None:
        self.actions: list[str] = []
        self.on_open = None

    def open(self, seconds: int) -> None:
        if self.on_open:
            self.on_open()
        self.actions.append(f"open {seconds}")

    def close(self) -> None:
        self.actions.append("close")

    def show(self, message: str) -> None:
        self.actions.append(f"show {message}")

    def alarm(self, text: str) -> None:
        self.actions.append(f"alarm {text}")


def booking_row(reference, *, start=T0, hours=4, status="confirmed", plate_index="", early=15):
    return {
        "reference": reference,
        "kind": "reservation",
        "status": status,
        "plate_index": plate_index,
        "entry_from": (start - timedelta(minutes=early)).isoformat(),
        "start": start.isoformat(),
        "end": (start + timedelta(hours=hours)).isoformat(),
        "spot": "A-1",
        "zone": "Level 1",
    }


def snapshot_data(*, version, bookings=(), removed=(), passes=(), since=None, now=T0, **extra):
    data = {
        "facility": FACILITY,
        "timezone": "Europe/Berlin",
        "gate": GATE,
        "anti_passback": True,
        "version": version,
        "since": since,
        "full": since is None,
        "generated_at": now.isoformat(),
        "valid_until": (now + timedelta(hours=24)).isoformat(),
        "bookings": list(bookings),
        "removed": list(removed),
        "passes": list(passes),
        "credential_keys": public_jwks([PLATFORM_KEY]),
    }
    return {**data, **extra}


def signed(data, key=PLATFORM_KEY):
    return {"data": data, "kid": key.kid, "signature": b64url_encode(key.private_key.sign(canonical(data)))}


def qr(reference, *, facility=FACILITY, start=T0, hours=4, key=PLATFORM_KEY):
    return credential_build(
        reference=reference,
        facility_id=facility,
        spot_code="A-1",
        not_before=start - timedelta(minutes=15),
        expires_at=start + timedelta(hours=hours, minutes=15),
        issued_at=start - timedelta(days=1),
        key=key,
    ).payload


class Platform:
    """The device API, mocked: serves queued snapshots, records every request, answers as configured."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.snapshots: list[dict] = []
        self.snapshot_queries: list[dict] = []
        self.key_requests: list[requests.PreparedRequest] = []
        self.decisions: list[dict] = []
        self.decide = None  # None: connection refused; else a function(body) -> (status, answer)
        self.uploads: list[list[dict]] = []
        self.upload_answer = self.down  # a function(events) -> (status, body) or an exception
        self.commands: list[dict] = []
        self.acks: list[int] = []
        self.ack_status = 200
        self.config = {"direction": "both", "accepted_credentials": ["qr", "plate", "reference", "ticket"]}
        self.jwks = public_jwks([PLATFORM_KEY])
        mock.add_callback(responses.GET, f"{API}/bookings/credential-keys/", callback=self._keys)
        mock.add_callback(responses.GET, f"{API}/gates/snapshot/", callback=self._snapshot)
        mock.add_callback(responses.GET, f"{API}/gates/poll/", callback=self._poll)
        mock.add_callback(responses.POST, f"{API}/gates/check-in/", callback=self._decide)
        mock.add_callback(responses.POST, f"{API}/gates/check-out/", callback=self._decide)
        mock.add_callback(responses.POST, f"{API}/gates/events/", callback=self._events)
        mock.add_callback(responses.POST, re.compile(rf"{re.escape(API)}/gates/commands/\d+/ack/"), callback=self._ack)

    @staticmethod
    def down(events):
        return requests.ConnectionError("connection refused")

    @staticmethod
    def accept_all(events):
        results = [
            {"event_id": e["event_id"], "status": "applied", "decision": e["decision"], "reason_code": e["reason_code"]}
            for e in events
        ]
        return 200, {"results": results}

    @staticmethod
    def _json(status, body):
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    def _keys(self, request):
        self.key_requests.append(request)
        return self._json(200, self.jwks)

    def _snapshot(self, request):
        self.snapshot_queries.append(parse_qs(urlparse(request.url).query))
        if not self.snapshots:
            return requests.ConnectionError("down")
        document = self.snapshots[0] if len(self.snapshots) == 1 else self.snapshots.pop(0)
        return self._json(200, document)

    def _poll(self, request):
        commands, self.commands = self.commands, []
        return self._json(200, {"server_time": T0.isoformat(), "config": self.config, "commands": commands})

    def _decide(self, request):
        body = json.loads(request.body)
        self.decisions.append(body)
        if self.decide is None:
            return requests.ConnectionError("connection refused")
        result = self.decide(body)
        return result if isinstance(result, Exception) else self._json(*result)

    def _events(self, request):
        events = json.loads(request.body)["events"]
        self.uploads.append(events)
        result = self.upload_answer(events)
        return result if isinstance(result, Exception) else self._json(*result)

    def _ack(self, request):
        command_id = int(urlparse(request.url).path.rstrip("/").split("/")[-2])
        self.acks.append(command_id)
        return self._json(self.ack_status, {"id": command_id})


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def platform(mock):
    return Platform(mock)


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def hardware():
    return Hardware()


@pytest.fixture
def make_agent(tmp_path, clock, hardware):
    agents = []

    def make(**overrides):
        options = {"url": URL, "key": "gk_test_secret", "state_path": tmp_path / "state.db", **overrides}
        agent = Agent(AgentSettings(**options), hardware=hardware, clock=clock)
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.close()  # (closing twice is harmless)


@pytest.fixture
def agent(make_agent, platform):
    """An agent that synced a full snapshot with three bookings; then the platform is down for decisions
    and uploads (tests switch them on)."""
    platform.snapshots = [
        signed(
            snapshot_data(
                version=1,
                bookings=[
                    booking_row("PKM-NOW"),
                    booking_row("PKM-LATER", start=T0 + timedelta(hours=2)),
                    booking_row("PKM-INSIDE", status="checked_in", start=T0 - timedelta(hours=1)),
                ],
            )
        )
    ]
    agent = make_agent()
    assert agent.sync(full=True)
    return agent


def outbox_rows(path: Path) -> list[dict]:
    """The outbox as another process would read it (a separate connection)."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute("SELECT * FROM outbox ORDER BY occurred_us, seq")]
    finally:
        db.close()


def decided(outcome):
    return (outcome.decision, outcome.reason_code, outcome.offline)


# ---------------------------------------------------------------------------- no Django on the edge
def test_the_agent_runs_without_django(tmp_path):
    code = (
        "import runpy, sys\n"
        "sys.argv = ['gates.agent', '--help']\n"
        "try:\n"
        "    runpy.run_module('gates.agent', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "import gates.agent.agent, gates.agent.cli, gates.agent.offline\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(settings.BASE_DIR)}  # no DJANGO_SETTINGS_MODULE
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=True, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert "--simulate" in result.stdout


def test_the_daemon_mode_stops_cleanly_on_sigterm(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(settings.BASE_DIR), "GATE_AGENT_KEY": "gk_x_y"}
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gates.agent", "--url", "http://127.0.0.1:9", "--state", str(tmp_path / "s.db")],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr = ""
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "s.db").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "platform unreachable" in stderr


def test_the_agent_mirrors_the_server_messages_and_leeways():
    assert {code: MESSAGES[code] for code in services.MESSAGES} == services.MESSAGES
    assert offline.QR_LEEWAY_SECONDS == services.QR_LEEWAY_SECONDS
    assert offline.EXIT_QR_LEEWAY_SECONDS == services.EXIT_QR_LEEWAY_SECONDS
    assert offline.RECENT_EXIT == services.RECENT_EXIT


# ---------------------------------------------------------------------------- state file
def test_state_file_is_wal_with_full_sync(make_agent, platform):
    agent = make_agent()
    db = agent.state._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1


# ---------------------------------------------------------------------------- snapshot verification
def test_first_start_pins_the_published_keys_and_applies_a_full_snapshot(make_agent, platform):
    platform.snapshots = [signed(snapshot_data(version=5, bookings=[booking_row("PKM-A"), booking_row("PKM-B")]))]
    agent = make_agent()

    assert agent.sync() is True
    assert agent.sync() is True  # the second one is incremental and the keys are not fetched again

    assert set(agent.state.pinned_keys()) == {PLATFORM_KEY.kid}
    assert len(platform.key_requests) == 1
    assert "Authorization" not in platform.key_requests[0].headers  # a public endpoint: no device key
    assert platform.snapshot_queries == [{}, {"since": ["5"]}]
    assert agent.state.booking("PKM-A").status == "confirmed"
    assert agent.state.booking_count() == 2
    held = agent.state.snapshot()
    assert (held.version, held.facility, held.gate, held.valid_until) == (5, FACILITY, GATE, T0 + timedelta(hours=24))


def test_a_tampered_snapshot_is_rejected_and_the_held_one_kept(agent, platform, caplog):
    good = signed(snapshot_data(version=2, bookings=[booking_row("PKM-NOW")]))
    tampered = {**good, "data": {**good["data"], "bookings": [booking_row("PKM-FORGED")]}}
    platform.snapshots = [tampered]

    assert agent.sync(full=True) is False

    assert "bad_signature" in caplog.text
    assert [r.levelname for r in caplog.records if "snapshot rejected" in r.message] == ["ERROR"]
    assert agent.state.snapshot().version == 1
    assert agent.state.booking("PKM-FORGED") is None
    assert agent.state.booking("PKM-LATER") is not None  # untouched


def test_a_signed_but_malformed_snapshot_is_rejected(agent, platform):
    bad_pass = {"id": 1, "plate_indexes": ["i"], "valid_from": "yesterday", "valid_until": T0.isoformat()}
    platform.snapshots = [signed(snapshot_data(version=2, passes=[bad_pass]))]
    assert agent.sync(full=True) is False
    platform.snapshots = [
        signed(snapshot_data(version=2, credential_keys={"keys": [{"kty": "OKP", "crv": "Ed25519"}]}))
    ]
    assert agent.sync(full=True) is False
    assert (agent.state.snapshot().version, agent.state.booking_count()) == (1, 3)


def test_a_snapshot_signed_by_an_unknown_key_is_rejected(make_agent, platform):
    stranger = _key()
    data = snapshot_data(version=2, bookings=[booking_row("PKM-X")], credential_keys=public_jwks([stranger]))
    platform.snapshots = [signed(data, key=stranger)]  # it even publishes its own key inside
    agent = make_agent()

    assert agent.sync() is False

    assert agent.state.snapshot() is None
    assert set(agent.state.pinned_keys()) == {PLATFORM_KEY.kid}


def test_an_older_snapshot_or_one_of_another_gate_is_not_accepted(agent, platform):
    platform.snapshots = [signed(snapshot_data(version=0, bookings=[]))]  # a replayed older snapshot
    assert agent.sync(full=True) is False
    platform.snapshots = [signed(snapshot_data(version=9, bookings=[], gate=GATE + 1))]
    assert agent.sync(full=True) is False
    assert (agent.state.snapshot().version, agent.state.booking_count()) == (1, 3)


def test_stale_snapshot_denies_with_snapshot_stale_and_raises_the_alarm(agent, platform, clock, hardware, caplog):
    clock.advance(hours=24)  # exactly valid_until

    outcome = agent.entry(Reading(booking_reference="PKM-NOW"))

    assert decided(outcome) == ("deny", "snapshot_stale", True)
    assert not [a for a in hardware.actions if a.startswith("open")]
    assert [a for a in hardware.actions if a.startswith("alarm")]
    assert any(r.levelname == "ERROR" and "snapshot" in r.message for r in caplog.records)
    [row] = outbox_rows(agent.settings.state_path)
    assert (row["decision"], row["reason_code"]) == ("deny", "snapshot_stale")


def test_without_any_snapshot_the_gate_does_not_open(make_agent, platform):
    agent = make_agent()  # the platform serves no snapshot: it is down
    assert agent.sync() is False
    assert decided(agent.entry(Reading(booking_reference="PKM-NOW"))) == ("deny", "snapshot_stale", True)


# ---------------------------------------------------------------------------- incremental apply
def test_incremental_snapshot_adds_changes_and_removes(agent, platform):
    platform.snapshots = [
        signed(
            snapshot_data(
                version=2,
                since=1,
                bookings=[booking_row("PKM-LATER", start=T0 + timedelta(hours=3)), booking_row("PKM-NEW")],
                removed=["PKM-INSIDE"],
                passes=[
                    {
                        "id": 1,
                        "plate_indexes": ["idx"],
                        "valid_from": T0.isoformat(),
                        "valid_until": (T0 + timedelta(days=30)).isoformat(),
                        "weekdays": [],
                        "start_time": None,
                        "end_time": None,
                    }
                ],
            )
        )
    ]

    assert agent.sync() is True

    assert platform.snapshot_queries[-1] == {"since": ["1"]}
    assert agent.state.snapshot().version == 2
    assert agent.state.booking("PKM-NOW").start == T0  # unchanged
    assert agent.state.booking("PKM-LATER").start == T0 + timedelta(hours=3)  # changed
    assert agent.state.booking("PKM-NEW") is not None  # added
    assert agent.state.booking("PKM-INSIDE") is None  # removed
    assert [p.id for p in agent.state.passes()] == [1]  # passes replaced

    platform.snapshots = [signed(snapshot_data(version=3, since=2, bookings=[], passes=[]))]
    assert agent.sync() is True
    assert agent.state.passes() == []
    assert agent.state.booking_count() == 3


def test_an_incremental_snapshot_that_does_not_continue_the_held_one_is_refused_then_resynced(agent, platform):
    platform.snapshots = [signed(snapshot_data(version=3, since=2, bookings=[booking_row("PKM-GAP")]))]
    assert agent.sync() is False
    assert agent.state.booking("PKM-GAP") is None

    platform.snapshots = [signed(snapshot_data(version=4, bookings=[booking_row("PKM-FULL")]))]
    assert agent.sync() is True
    assert platform.snapshot_queries[-1] == {}  # a full one was asked for
    assert agent.state.booking_count() == 1


# ---------------------------------------------------------------------------- offline decisions
@pytest.mark.parametrize(
    ("minutes", "reference", "expected"),
    [
        (0, "PKM-NOW", ("open", "ok")),
        (-15, "PKM-NOW", ("open", "ok")),  # the early check-in opens the window
        (-16, "PKM-NOW", ("deny", "too_early")),
        (60, "PKM-LATER", ("deny", "too_early")),
        (239, "PKM-NOW", ("open", "ok")),
        (240, "PKM-NOW", ("deny", "outside_window")),  # [start, end)
        (0, "PKM-GONE", ("deny", "unknown_credential")),
        (0, "pkm-now ", ("open", "ok")),  # trimmed and upper-cased like the server
    ],
)
def test_offline_entry_by_reference(agent, clock, minutes, reference, expected):
    clock.advance(minutes=minutes)
    outcome = agent.entry(Reading(booking_reference=reference))
    assert decided(outcome) == (*expected, True)


def test_offline_entry_of_a_cancelled_booking_is_denied(agent, platform):
    platform.snapshots = [signed(snapshot_data(version=2, since=1, removed=["PKM-NOW"]))]
    assert agent.sync() is True
    assert decided(agent.entry(Reading(booking_reference="PKM-NOW"))) == ("deny", "unknown_credential", True)


def test_offline_anti_passback(agent):
    assert decided(agent.entry(Reading(booking_reference="PKM-INSIDE"))) == ("deny", "already_inside", True)
    assert decided(agent.entry(Reading(booking_reference="PKM-NOW"))) == ("open", "ok", True)
    assert decided(agent.entry(Reading(booking_reference="PKM-NOW"))) == ("deny", "already_inside", True)
    assert decided(agent.exit(Reading(booking_reference="PKM-NOW"))) == ("open", "ok", True)
    assert decided(agent.exit(Reading(booking_reference="PKM-NOW"))) == ("open", "already_checked_out", True)
    assert decided(agent.entry(Reading(booking_reference="PKM-NOW"))) == ("deny", "booking_completed", True)
    assert decided(agent.exit(Reading(booking_reference="PKM-LATER"))) == ("deny", "not_inside", True)


def test_anti_passback_off_lets_a_booking_inside_back_in(agent, platform):
    platform.config = {**platform.config, "anti_passback": False}
    agent.poll()
    assert decided(agent.entry(Reading(booking_reference="PKM-INSIDE"))) == ("open", "re_entry", True)


def test_a_refreshed_snapshot_does_not_undo_a_local_entry(agent, platform):
    assert agent.entry(Reading(booking_reference="PKM-NOW")).opens
    platform.snapshots = [signed(snapshot_data(version=2, bookings=[booking_row("PKM-NOW")]))]  # still confirmed
    assert agent.sync(full=True) is True
    assert decided(agent.entry(Reading(booking_reference="PKM-NOW"))) == ("deny", "already_inside", True)


def test_a_car_let_in_here_gets_out_after_its_booking_left_the_snapshot(agent, platform, clock):
    assert agent.entry(Reading(booking_reference="PKM-NOW")).opens
    clock.advance(hours=5)  # it overstays; the next full snapshot no longer has the booking
    platform.snapshots = [signed(snapshot_data(version=2, bookings=[], now=clock.now))]
    assert agent.sync(full=True) is True
    assert decided(agent.exit(Reading(booking_reference="PKM-NOW"))) == ("open", "ok", True)


@pytest.mark.parametrize(
    ("make_qr", "kind", "minutes", "expected"),
    [
        (lambda: qr("PKM-NOW"), "entry", 0, ("open", "ok")),
        (lambda: qr("PKM-NOW", facility=FACILITY + 1), "entry", 0, ("deny", "wrong_facility")),
        (lambda: qr("PKM-NOW", key=_key()), "entry", 0, ("deny", "invalid_credential")),  # unknown key
        (lambda: qr("PKM-NOW")[:-4] + "AAAA", "entry", 0, ("deny", "invalid_credential")),  # bad signature
        (lambda: "PK1.garbage", "entry", 0, ("deny", "invalid_credential")),
        (lambda: qr("PKM-LATER", start=T0 + timedelta(hours=2)), "entry", 0, ("deny", "too_early")),
        (lambda: qr("PKM-NOW"), "entry", -18, ("deny", "too_early")),  # before nbf - 120 s of leeway
        (lambda: qr("PKM-NOW"), "entry", 4 * 60 + 18, ("deny", "outside_window")),
        (lambda: qr("PKM-INSIDE", start=T0 - timedelta(hours=1)), "exit", 0, ("open", "ok")),
        (lambda: qr("PKM-GONE"), "entry", 0, ("deny", "unknown_credential")),
    ],
)
def test_offline_qr_codes(agent, clock, make_qr, kind, minutes, expected):
    payload = make_qr()
    clock.advance(minutes=minutes)
    assert decided(agent.decide(kind, Reading(qr_code=payload))) == (*expected, True)


def test_offline_gate_configuration_applies(agent, platform):
    platform.config = {"direction": "exit", "accepted_credentials": ["qr"]}
    agent.poll()
    assert decided(agent.entry(Reading(qr_code=qr("PKM-NOW")))) == ("deny", "wrong_direction", True)
    assert decided(agent.exit(Reading(booking_reference="PKM-INSIDE"))) == ("deny", "credential_not_accepted", True)


def test_offline_ticket_names_a_drive_in_session(agent, platform):
    session = {**booking_row("PKM-TICKET", start=T0 - timedelta(minutes=30)), "kind": "drive_in"}
    platform.snapshots = [signed(snapshot_data(version=2, since=1, bookings=[{**session, "status": "checked_in"}]))]
    assert agent.sync()
    assert decided(agent.exit(Reading(ticket="pkm-ticket"))) == ("open", "ok", True)


def test_offline_plates_need_the_cameras_blind_index(agent, platform, clock):
    plate_pass = {
        "id": 4,
        "plate_indexes": ["pass-idx"],
        "valid_from": (T0 - timedelta(days=1)).isoformat(),
        "valid_until": (T0 + timedelta(days=30)).isoformat(),
        "weekdays": [0, 1, 2, 3, 4],  # Monday to Friday
        "start_time": "07:00:00",
        "end_time": "19:00:00",  # Europe/Berlin
    }
    platform.snapshots = [
        signed(
            snapshot_data(
                version=2, since=1, bookings=[booking_row("PKM-CAR", plate_index="car-idx")], passes=[plate_pass]
            )
        )
    ]
    assert agent.sync()
    sure = Decimal("0.97")

    assert decided(agent.entry(Reading(license_plate="AB12CDE", confidence=sure))) == ("deny", "manual_review", True)
    low = Reading(license_plate="AB12CDE", confidence=Decimal("0.5"), plate_index="car-idx")
    assert decided(agent.entry(low)) == ("deny", "manual_review", True)
    car = Reading(license_plate="AB12CDE", confidence=sure, plate_index="car-idx")
    assert decided(agent.entry(car)) == ("open", "ok", True)
    assert decided(agent.entry(car)) == ("deny", "already_inside", True)
    assert decided(agent.exit(car)) == ("open", "ok", True)
    assert decided(agent.exit(car)) == ("open", "already_checked_out", True)  # back at the exit soon after
    assert decided(agent.entry(car)) == ("deny", "no_booking", True)  # the stay is over (as on the server)
    stranger = Reading(license_plate="XY99", confidence=sure, plate_index="other-idx")
    assert decided(agent.entry(stranger)) == ("deny", "no_booking", True)
    holder = Reading(license_plate="PA55", confidence=sure, plate_index="pass-idx")
    assert decided(agent.entry(holder)) == ("open", "pass_valid", True)  # 10:00 in Berlin on a Monday
    clock.advance(hours=9)  # 19:00 in Berlin: outside the pass hours
    assert decided(agent.entry(holder)) == ("deny", "no_booking", True)

    # The plate is queued for upload (the platform computes its own index); the camera's index is not.
    first = outbox_rows(agent.settings.state_path)[0]
    assert json.loads(first["credential"]) == {"confidence": "0.97", "license_plate": "AB12CDE"}


def test_a_malformed_read_is_denied_and_not_queued(agent, platform):
    outcome = agent.entry(Reading(booking_reference="PKM-" + "X" * 20))
    assert decided(outcome) == ("deny", "invalid_credential", True)
    assert platform.decisions == []
    assert outbox_rows(agent.settings.state_path) == []


# ---------------------------------------------------------------------------- the live path
def test_a_live_answer_is_used_and_nothing_is_queued(agent, platform, hardware):
    platform.decide = lambda body: (
        200,
        {
            "event_id": body["event_id"],
            "decision": "open",
            "reason_code": "ok",
            "message": "Welcome",
            "booking": {"reference": "PKM-LATER", "spot": "A-1", "zone": "Level 1"},
            "amount_due": None,
            "payment": None,
            "open_seconds": 6,
            "offline": False,
        },
    )

    outcome = agent.entry(Reading(booking_reference="pkm-later"))

    assert decided(outcome) == ("open", "ok", False)  # the platform's word, although offline it is too early
    [body] = platform.decisions
    assert body == {
        "event_id": outcome.event_id,
        "occurred_at": T0.isoformat(),
        "booking_reference": "PKM-LATER",
    }
    assert hardware.actions == ["show Welcome", "open 6"]
    assert outbox_rows(agent.settings.state_path) == []
    assert agent.state.presence("PKM-LATER").state == "inside"  # remembered for anti-passback offline

    platform.decide = None  # down now
    assert decided(agent.entry(Reading(booking_reference="PKM-LATER"))) == ("deny", "already_inside", True)


@pytest.mark.parametrize(
    "failure",
    [
        lambda body: requests.ConnectTimeout("slow"),
        lambda body: requests.ReadTimeout("slow"),
        lambda body: (503, {"type": "server_error", "errors": []}),
        lambda body: (500, {"type": "server_error", "errors": []}),
        lambda body: (429, {"type": "client_error", "errors": []}),
    ],
)
def test_timeouts_and_server_errors_fall_back_to_offline_with_the_same_event_id(agent, platform, failure):
    platform.decide = failure
    outcome = agent.entry(Reading(booking_reference="PKM-NOW"))
    assert decided(outcome) == ("open", "ok", True)
    [row] = outbox_rows(agent.settings.state_path)
    assert row["event_id"] == platform.decisions[0]["event_id"] == outcome.event_id


def test_the_live_call_uses_the_short_timeout(agent, platform, monkeypatch):
    seen = []
    original = requests.Session.request

    def spy(self, method, url, **kwargs):
        seen.append((url.rsplit("/v1", 1)[1], kwargs["timeout"]))
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    agent.entry(Reading(booking_reference="PKM-NOW"))
    assert seen == [("/gates/check-in/", (0.3, 0.3))]


def test_queued_events_are_uploaded_before_a_live_call(agent, platform):
    offline_entry = agent.entry(Reading(booking_reference="PKM-NOW"))  # platform down
    platform.upload_answer = platform.accept_all
    platform.decide = lambda body: (200, {"decision": "open", "reason_code": "ok", "open_seconds": 8})

    agent.exit(Reading(booking_reference="PKM-NOW"))

    assert [e["event_id"] for e in platform.uploads[0]] == [offline_entry.event_id]
    assert len(platform.decisions) == 2  # the failed entry and the live exit, after the upload
    assert outbox_rows(agent.settings.state_path) == []


def test_with_an_upload_failing_the_read_is_decided_offline(agent, platform):
    agent.entry(Reading(booking_reference="PKM-NOW"))
    platform.upload_answer = lambda events: (503, {})
    platform.decide = lambda body: (200, {"decision": "open", "reason_code": "ok", "open_seconds": 8})

    outcome = agent.exit(Reading(booking_reference="PKM-NOW"))

    assert decided(outcome) == ("open", "ok", True)
    assert len(platform.decisions) == 1  # no live call: the platform has not seen the entry yet
    assert len(outbox_rows(agent.settings.state_path)) == 2


# ---------------------------------------------------------------------------- outbox durability
def test_an_offline_event_is_on_disk_before_the_barrier_opens_and_survives_a_crash(agent, hardware):
    path = agent.settings.state_path
    seen_at_open = []
    hardware.on_open = lambda: seen_at_open.append(outbox_rows(path))

    outcome = agent.entry(Reading(booking_reference="PKM-NOW"))

    assert [[row["event_id"] for row in rows] for rows in seen_at_open] == [[outcome.event_id]]
    agent.state._db.close()  # the process dies right after the decision

    reopened = State(path)
    try:
        [event] = reopened.outbox()
        assert (event.event_id, event.kind, event.decision, event.reason_code) == (
            outcome.event_id,
            "entry",
            "open",
            "ok",
        )
        assert event.occurred_at == T0
        assert event.credential == {"booking_reference": "PKM-NOW"}
        assert reopened.presence("PKM-NOW").state == "inside"  # anti-passback survives too
    finally:
        reopened.close()


def test_the_outbox_is_uploaded_in_device_time_order_and_deleted_only_when_acknowledged(agent, platform, clock):
    clock.advance(minutes=2)
    second = agent.entry(Reading(booking_reference="PKM-NOW"))
    clock.advance(minutes=-1)  # the clock was corrected backwards in between
    first = agent.entry(Reading(booking_reference="PKM-GONE"))
    clock.advance(minutes=5)
    third = agent.exit(Reading(booking_reference="PKM-NOW"))
    path = agent.settings.state_path

    assert agent.flush() == 0  # the platform is down
    assert all(row["attempts"] >= 1 and "ConnectionError" in row["last_error"] for row in outbox_rows(path))
    assert len(outbox_rows(path)) == 3

    def partial(events):
        statuses = {first.event_id: "duplicate", second.event_id: "flagged"}  # third: no answer
        results = [
            {"event_id": e["event_id"], "status": statuses[e["event_id"]], "decision": e["decision"], "reason_code": ""}
            for e in events
            if e["event_id"] in statuses
        ]
        return 200, {"results": results}

    platform.upload_answer = partial
    assert agent.flush() == 2
    assert [e["event_id"] for e in platform.uploads[-1]] == [first.event_id, second.event_id, third.event_id]
    assert platform.uploads[-1][0] == {
        "event_id": first.event_id,
        "kind": "entry",
        "occurred_at": (T0 + timedelta(minutes=1)).isoformat(),
        "decision": "deny",
        "reason_code": "unknown_credential",
        "booking_reference": "PKM-GONE",
    }
    assert [row["event_id"] for row in outbox_rows(path)] == [third.event_id]

    platform.upload_answer = platform.accept_all
    assert agent.flush() == 1
    assert [e["event_id"] for e in platform.uploads[-1]] == [third.event_id]
    assert outbox_rows(path) == []


def test_uploads_go_in_batches_and_a_malformed_event_is_set_aside(agent, platform, clock):
    agent.settings = dataclasses.replace(agent.settings, batch_size=2)
    events = []
    for reference in ("PKM-A", "PKM-B", "PKM-C"):
        clock.advance(seconds=1)
        events.append(agent.entry(Reading(booking_reference=reference)).event_id)
    poison = events[1]

    def refuse_poison(batch):
        if any(e["event_id"] == poison for e in batch):
            return 400, {"type": "validation_error", "errors": [{"code": "invalid", "attr": "events"}]}
        return platform.accept_all(batch)

    platform.upload_answer = refuse_poison
    assert agent.flush() == 2

    sent = [[e["event_id"] for e in batch] for batch in platform.uploads[-4:]]  # (earlier: failed drains)
    assert sent == [events[:2], [events[0]], [poison], [events[2]]]
    assert outbox_rows(agent.settings.state_path) == []
    assert agent.state.dead_letters() == [poison]


# ---------------------------------------------------------------------------- commands
def test_commands_are_executed_once_and_acknowledged(agent, platform, hardware):
    platform.snapshots = [signed(snapshot_data(version=2, bookings=[booking_row("PKM-SYNCED")]))]
    platform.commands = [
        {"id": 11, "kind": "open", "reason": "stuck ticket", "created_at": T0.isoformat()},
        {"id": 12, "kind": "close", "reason": "", "created_at": T0.isoformat()},
        {"id": 13, "kind": "sync", "reason": "", "created_at": T0.isoformat()},
        {"id": 14, "kind": "reboot", "reason": "", "created_at": T0.isoformat()},
    ]
    platform.ack_status = 503  # the acks are lost the first time

    assert agent.poll() == 4
    assert hardware.actions == ["show Opened by staff", "open 8", "close"]
    assert agent.state.booking("PKM-SYNCED") is not None  # "sync" fetched a full snapshot
    assert platform.acks == [11]  # the first ack failed: the rest wait for the next round

    platform.ack_status = 200
    platform.commands = [{"id": 11, "kind": "open", "reason": "stuck ticket", "created_at": T0.isoformat()}]  # again
    assert agent.poll() == 0  # not executed twice
    assert hardware.actions == ["show Opened by staff", "open 8", "close"]
    assert platform.acks == [11, 11, 12, 13, 14]
    assert agent.poll() == 0
    assert platform.acks == [11, 11, 12, 13, 14]  # each acknowledged exactly once successfully
    assert agent.state.commands_unacked() == []


def test_poll_stores_the_gate_configuration(agent, platform):
    platform.config = {**platform.config, "open_seconds": 12, "plate_confidence_threshold": "0.800"}
    agent.poll()
    config = agent.state.config()
    assert (config.open_seconds, config.plate_confidence_threshold) == (12, Decimal("0.8"))
    assert agent.entry(Reading(booking_reference="PKM-NOW")).open_seconds == 12


# ---------------------------------------------------------------------------- command line
def test_simulate_instructions_parse():
    assert parse_reading(["entry", "ref", "PKM-A"]) == ("entry", Reading(booking_reference="PKM-A"))
    assert parse_reading(["exit", "ticket", "PKM-B"]) == ("exit", Reading(ticket="PKM-B"))
    assert parse_reading(["entry", "plate", "AB1", "0.95", "index=ff"]) == (
        "entry",
        Reading(license_plate="AB1", confidence=Decimal("0.95"), plate_index="ff"),
    )
    with pytest.raises(ValueError, match="expected"):
        parse_reading(["enter", "ref", "PKM-A"])


def test_manage_py_gate_agent_simulates_a_lane(tmp_path, platform, capsys):
    start = datetime.now(UTC).replace(microsecond=0)
    platform.snapshots = [signed(snapshot_data(version=1, bookings=[booking_row("PKM-NOW", start=start)], now=start))]
    platform.upload_answer = platform.accept_all  # only the decisions time out
    script = tmp_path / "lane.txt"
    script.write_text("# a demo\nentry ref PKM-NOW\n\nentry ref PKM-NOW\nbogus line\nflush\n")

    call_command(
        "gate_agent",
        "--url",
        URL,
        "--key",
        "gk_test_secret",
        "--state",
        str(tmp_path / "cli.db"),
        "--simulate",
        str(script),
        "--poll-interval",
        "60",
    )

    lines = capsys.readouterr().out.splitlines()
    uuid_line = re.compile(r"^[0-9a-f-]{36} (open|deny) \w+ (online|offline)$")
    assert [line.split()[1:] for line in lines if uuid_line.match(line)] == [
        ["open", "ok", "offline"],
        ["deny", "already_inside", "offline"],
    ]
    assert lines[:2] == ["DISPLAY Welcome", "OPEN 8s"]
    assert "error expected: entry|exit ref|ticket|qr|plate VALUE" in lines
    assert lines[-1] == "flush 1 0"  # the first event went up before the second read, the second now
    assert sorted(len(batch) for batch in platform.uploads) == [1, 1]
    assert platform.decisions[0]["booking_reference"] == "PKM-NOW"


# ---------------------------------------------------------------------------- parity with the platform
@pytest.mark.django_db
def test_offline_decisions_match_the_platforms_on_a_real_snapshot(
    make_agent, platform, facility, zone, driver, owner_a
):
    """The platform's own snapshot and credentials; each read decided by the platform (rolled back) and
    by the agent's offline rules at the same instant."""

    def book(spot, start, hours=4, at=facility):
        booking = booking_services.booking_create(
            booking_services.BookingRequest(
                driver=driver,
                vehicle=VehicleFactory(owner=driver),
                facility=at,
                spot=spot,
                start=start,
                end=start + timedelta(hours=hours),
            )
        )
        return Booking.objects.select_related("facility", "spot").get(pk=booking.pk)

    start = (datetime.now(UTC) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    waiting = book(make_spot(zone, "P-1"), start)
    inside = book(make_spot(zone, "P-2"), start)
    booking_services.booking_check_in(booking_id=inside.pk, actor=None, at=start)
    elsewhere = make_facility(facility.organization, name="Elsewhere", requires_prepayment=False)
    pricing_services.rule_create(
        facility=elsewhere,
        data={"name": "Hourly", "strategy": "hourly", "config": {"rate": 1000, "increment_minutes": 60}},
    )
    foreign = book(make_spot(make_zone(elsewhere), "F-1"), start, at=elsewhere)
    gate, _ = services.gate_create(facility=facility, data={"name": "Parity"}, actor=owner_a)

    platform.jwks = public_jwks(signing_keys_from_settings())
    platform.snapshots = [snapshot_build(gate=gate)]
    agent = make_agent()
    assert agent.sync()

    def server(kind, at, **credential):
        with transaction.atomic():
            decide = services.gate_check_in if kind == "entry" else services.gate_check_out
            event = decide(
                gate=gate,
                event_id=f"parity-{at.timestamp()}-{kind}",
                occurred_at=at,
                credential=services.Credential(**credential),
            )
            transaction.set_rollback(True)
        return event.decision, event.reason_code

    def agent_says(kind, at, **credential):
        verdict = decide_offline(agent.state, kind=kind, reading=Reading(**credential), at=at)
        return verdict.decision, verdict.reason

    scenarios = [
        ("entry", start - timedelta(minutes=20), {"booking_reference": waiting.reference}),
        ("entry", start - timedelta(minutes=15), {"booking_reference": waiting.reference}),
        ("entry", start + timedelta(hours=1), {"booking_reference": waiting.reference.lower()}),
        ("entry", start + timedelta(hours=4), {"booking_reference": waiting.reference}),
        ("entry", start, {"qr_code": credential_issue(waiting).payload}),
        ("entry", start - timedelta(hours=1), {"qr_code": credential_issue(waiting).payload}),
        ("entry", start + timedelta(hours=5), {"qr_code": credential_issue(waiting).payload}),
        ("entry", start, {"qr_code": credential_issue(foreign).payload}),
        ("entry", start, {"qr_code": credential_issue(waiting).payload[:-3] + "xyz"}),
        ("entry", start, {"booking_reference": inside.reference}),
        ("entry", start, {"ticket": "PKM-NOSUCH99"}),
        ("exit", start + timedelta(hours=1), {"booking_reference": inside.reference}),
        ("exit", start + timedelta(hours=1), {"qr_code": credential_issue(inside).payload}),
        ("exit", start + timedelta(hours=1), {"booking_reference": waiting.reference}),
    ]
    for kind, at, credential in scenarios:
        assert agent_says(kind, at, **credential) == server(kind, at, **credential), (kind, at, credential)
