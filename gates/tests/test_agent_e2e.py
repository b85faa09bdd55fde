"""The edge agent through a platform outage, end to end, with real processes.

A real gunicorn serves the test database; the agent runs as its own process (``python -m gates.agent
--simulate``, fed line by line on stdin, without Django). Given reservations in their entry window and
a booking cancelled after the first sync, when the platform stops, the agent decides offline; it is
killed (SIGKILL) mid-outage and restarted on the same state file; then the platform comes back. Then
every event reached the platform exactly once, each entry is checked in with the device time the agent
recorded, denials changed nothing — checked with SQL.
"""

import os
import queue
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bookings import services as booking_services
from gates import services
from parking.tests.factories import make_spot
from vehicles.tests.factories import VehicleFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

DECISION = re.compile(r"^(?P<event_id>[0-9a-f-]{36}) (?P<decision>open|deny) (?P<reason>\w+) (?P<mode>online|offline)$")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict  # the test database (its name carries the xdist suffix)
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Platform:
    """gunicorn on the test database, on a fixed port so it can be stopped and started again."""

    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "app.settings.test",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
        }

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [sys.executable, "-m", "gunicorn", "app.wsgi", "--bind", f"127.0.0.1:{self.port}"]
                + ["--workers", "1", "--threads", "4", "--worker-class", "gthread", "--log-level", "warning"],
                env=self.env,
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the gunicorn test server did not start: {self.log.read_text()[-2000:]}")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None


class Lane:
    """The agent process: instructions in on stdin, answer lines out (read by a thread)."""

    def __init__(self, url: str, key: str, state: Path, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}  # no Django on the edge
        env["GATE_AGENT_KEY"] = key
        with log.open("a") as stderr:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "gates.agent", "--url", url, "--state", str(state), "--simulate"]
                + ["--timeout", "2", "--request-timeout", "2", "--poll-interval", "0.3", "--sync-interval", "600"],
                env=env,
                cwd=settings.BASE_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                bufsize=1,
            )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.transcript: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, instruction: str, answer: re.Pattern[str] = DECISION, timeout: float = 15) -> re.Match[str]:
        assert self.process.stdin is not None
        self.process.stdin.write(instruction + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                pytest.fail(f"the agent exited; output so far: {self.transcript}")
            self.transcript.append(line)
            found = answer.match(line)
            if found:
                return found

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no cleanup, no last upload
        self.process.wait(timeout=10)

    def finish(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=30)


def _sql(query: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _outbox(state: Path) -> dict[str, datetime]:
    db = sqlite3.connect(state)
    try:
        return {
            event_id: datetime.fromisoformat(at)
            for event_id, at in db.execute("SELECT event_id, occurred_at FROM outbox")
        }
    finally:
        db.close()


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_offline_entries_survive_an_outage_and_an_agent_crash(tmp_path, facility, zone, driver, owner_a):
    start = timezone.now() + timedelta(minutes=5)  # the entry window (15 min early) is open now
    bookings = []
    for n in range(5):
        bookings.append(
            booking_services.booking_create(
                booking_services.BookingRequest(
                    driver=driver,
                    vehicle=VehicleFactory(owner=driver),
                    facility=facility,
                    spot=make_spot(zone, f"E-{n}"),
                    start=start,
                    end=start + timedelta(hours=2),
                )
            )
        )
    live, first, second, third, to_cancel = (b.reference for b in bookings)
    gate, key = services.gate_create(facility=facility, data={"name": "E2E lane"}, actor=owner_a)
    state = tmp_path / "state.db"
    platform = Platform(tmp_path / "gunicorn.log")
    lanes: list[Lane] = []
    try:
        platform.start()
        lane = Lane(platform.url, key, state, tmp_path / "agent.log")
        lanes.append(lane)

        # Online: a live decision, then a cancellation reaches the agent through an incremental snapshot.
        online = lane.send(f"entry ref {live}")
        assert (online["decision"], online["reason"], online["mode"]) == ("open", "ok", "online")
        booking_services.booking_cancel(booking_id=bookings[4].pk, actor=driver)
        lane.send("sync", re.compile(r"^sync ok \d+$"))

        # The platform goes away.
        platform.stop()
        expected = {
            f"entry ref {first}": ("open", "ok"),
            f"entry ref {second}": ("open", "ok"),
            f"entry ref {to_cancel}": ("deny", "unknown_credential"),  # cancelled: not in the snapshot any more
            "entry ref PKM-NOSUCH1": ("deny", "unknown_credential"),
            f"entry ref {live}": ("deny", "already_inside"),  # anti-passback from the live answer
        }
        decided: dict[str, tuple[str, str]] = {}
        references: dict[str, str] = {}
        for instruction, outcome in expected.items():
            found = lane.send(instruction)
            assert (found["decision"], found["reason"], found["mode"]) == (*outcome, "offline"), instruction
            decided[found["event_id"]] = outcome
            references[found["event_id"]] = instruction.split()[-1]
        lane.kill()  # mid-outage, right after a decision

        lane = Lane(platform.url, key, state, tmp_path / "agent.log")  # same state file
        lanes.append(lane)
        for instruction, outcome in {
            f"entry ref {third}": ("open", "ok"),
            f"entry ref {first}": ("deny", "already_inside"),  # the presence survived the crash
        }.items():
            found = lane.send(instruction)
            assert (found["decision"], found["reason"], found["mode"]) == (*outcome, "offline"), instruction
            decided[found["event_id"]] = outcome
            references[found["event_id"]] = instruction.split()[-1]
        device_times = _outbox(state)
        assert set(device_times) == set(decided)  # every offline decision is queued, on disk

        # The platform comes back (same database); the agent uploads on its own.
        platform.start()
        _wait_for(lambda: not _outbox(state), timeout=20, what="the agent to upload its outbox")
        assert lane.finish() == 0
    finally:
        for lane in lanes:
            if lane.process.poll() is None:
                lane.kill()
        platform.stop()

    # Every offline event exactly once, plus the live one; denials recorded as such, nothing flagged.
    rows = _sql(
        "SELECT event_id, decision, reason_code, offline, flagged, occurred_at FROM gates_gateevent WHERE gate_id = %s",
        [gate.pk],
    )
    events = {
        event_id: (decision, reason, offline, flagged) for event_id, decision, reason, offline, flagged, _ in rows
    }
    assert len(rows) == len(events) == len(decided) + 1
    assert events.pop(online["event_id"]) == ("open", "ok", False, False)
    assert events == {event_id: (*outcome, True, False) for event_id, outcome in decided.items()}
    assert {event_id: at for event_id, *_, at in rows if event_id in device_times} == device_times

    # Each entry opened offline checked its booking in at exactly the device time the agent recorded.
    statuses = {
        reference: (status, checked_in_at)
        for reference, status, checked_in_at in _sql(
            "SELECT reference, status, checked_in_at FROM bookings_booking WHERE facility_id = %s", [facility.pk]
        )
    }
    checked_in_offline = {
        references[event_id]: ("checked_in", device_times[event_id])
        for event_id, outcome in decided.items()
        if outcome == ("open", "ok")
    }
    assert sorted(checked_in_offline) == sorted([first, second, third])
    assert {reference: statuses[reference] for reference in checked_in_offline} == checked_in_offline
    [(live_at,)] = _sql("SELECT occurred_at FROM gates_gateevent WHERE event_id = %s", [online["event_id"]])
    assert statuses[live] == ("checked_in", live_at)
    assert statuses[to_cancel] == ("cancelled", None)  # the offline denial changed nothing
    assert _sql("SELECT count(*) FROM gates_manualreview", []) == [(0,)]
