"""Command line: ``python -m gates.agent --url URL --key KEY --state PATH [--simulate [FILE]]``.

Without ``--simulate`` the agent runs its background loop until SIGTERM/SIGINT (reads come from the
hardware integration that embeds ``Agent``). With ``--simulate`` it reads one instruction per line from
FILE (or stdin, also with ``-``) and prints one line per instruction:

    entry ref PKM-ABCD2345          → <event_id> <open|deny> <reason_code> <online|offline>
    exit ticket PKM-ABCD2345
    entry qr PK1.eyJ….…
    entry plate AB12CDE 0.97 [index=<blind index>]
    sync | sync full                → sync ok <version> | sync failed
    flush                           → flush <acknowledged> <still queued>
    sleep 1.5                       → slept 1.5
    # comment, blank line           → (nothing)

The hardware lines (``DISPLAY …``, ``OPEN 8s``) come before the decision line. At the end of the input
the agent makes one last upload attempt and exits. The key may come from ``GATE_AGENT_KEY`` instead of
``--key`` (a command line is visible to every user of the box).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from .agent import Agent, AgentSettings
from .hardware import ConsoleHardware
from .reading import KINDS, Reading

logger = logging.getLogger("gates.agent")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The agent's options (shared by ``python -m gates.agent`` and ``manage.py gate_agent``)."""
    parser.add_argument("--url", required=True, help="platform base URL, e.g. https://parking.example.com")
    parser.add_argument("--key", default=os.environ.get("GATE_AGENT_KEY"), help="device key (or GATE_AGENT_KEY)")
    parser.add_argument("--state", required=True, type=Path, help="state file (SQLite), created if missing")
    parser.add_argument(
        "--simulate",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="read instructions from FILE (or stdin) and print one decision line each",
    )
    parser.add_argument("--timeout", type=float, default=0.3, help="live decision timeout, seconds (0.3)")
    parser.add_argument("--request-timeout", type=float, default=5.0, help="background request timeout (5)")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="seconds between polls and uploads (5)")
    parser.add_argument("--sync-interval", type=float, default=60.0, help="seconds between snapshot refreshes (60)")
    parser.add_argument(
        "--full-sync-interval", type=float, default=3600.0, help="seconds between full snapshots (3600)"
    )
    parser.add_argument("--batch-size", type=int, default=100, help="events per upload (at most 500)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR (to stderr)")


def settings_from(options: dict[str, Any]) -> AgentSettings:
    if not options.get("key"):
        raise SystemExit("gate agent: give the device key with --key or GATE_AGENT_KEY")
    return AgentSettings(
        url=str(options["url"]),
        key=str(options["key"]),
        state_path=Path(options["state"]),
        decision_timeout=float(options["timeout"]),
        request_timeout=float(options["request_timeout"]),
        poll_interval=float(options["poll_interval"]),
        sync_interval=float(options["sync_interval"]),
        full_sync_interval=float(options["full_sync_interval"]),
        batch_size=max(1, min(500, int(options["batch_size"]))),
    )


def parse_reading(kind_and_rest: list[str]) -> tuple[str, Reading]:
    """``[kind, type, value, …]`` → ``(kind, Reading)``; ``ValueError`` with a reason otherwise."""
    if len(kind_and_rest) < 3 or kind_and_rest[0] not in KINDS:
        raise ValueError("expected: entry|exit ref|ticket|qr|plate VALUE")
    kind, credential, value, *rest = kind_and_rest
    if credential in ("ref", "reference"):
        return kind, Reading(booking_reference=value)
    if credential == "ticket":
        return kind, Reading(ticket=value)
    if credential == "qr":
        return kind, Reading(qr_code=value)
    if credential == "plate":
        confidence: Decimal | None = None
        index = ""
        for extra in rest:
            if extra.startswith("index="):
                index = extra.removeprefix("index=")
                continue
            try:
                confidence = Decimal(extra)
            except InvalidOperation:
                raise ValueError(f"not a confidence: {extra!r}") from None
        return kind, Reading(license_plate=value, confidence=confidence, plate_index=index)
    raise ValueError(f"unknown credential type {credential!r}")


def simulate(agent: Agent, source: TextIO, out: TextIO, lock: threading.Lock) -> None:
    def say(text: str) -> None:
        with lock:
            out.write(text + "\n")
            out.flush()

    for raw in source:
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            _instruction(agent, words, say)
        except Exception as exc:  # one bad line must not stop the lane
            logger.exception("simulate: %r failed", words[0])
            say(f"error {type(exc).__name__}")


def _instruction(agent: Agent, words: list[str], say: Callable[[str], None]) -> None:
    command = words[0].lower()
    if command == "sync":
        ok = agent.sync(full=len(words) > 1 and words[1] == "full")
        say(f"sync ok {agent.state.held().version}" if ok else "sync failed")
    elif command == "flush":
        done = agent.flush(timeout=agent.settings.request_timeout)
        say(f"flush {done} {agent.state.outbox_count()}")
    elif command == "sleep":
        try:
            seconds = max(0.0, float(words[1]))
        except (IndexError, ValueError):
            say("error expected: sleep SECONDS")
            return
        time.sleep(seconds)
        say(f"slept {seconds:g}")
    else:
        try:
            kind, reading = parse_reading([command, *words[1:]])
        except ValueError as exc:
            say(f"error {exc}")
            return
        say(agent.decide(kind, reading).line())


def run(options: dict[str, Any], out: TextIO | None = None) -> int:
    """Run the agent with parsed options (``add_arguments``); returns the exit status."""
    logging.basicConfig(
        level=str(options.get("log_level") or "INFO").upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    settings = settings_from(options)
    out = out or sys.stdout
    lock = threading.Lock()
    agent = Agent(settings, hardware=ConsoleHardware(out, lock))
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        if options.get("simulate") is not None:
            raise KeyboardInterrupt

    previous = {}
    if threading.current_thread() is threading.main_thread():  # signals can only be handled there
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        agent.start()
        if options.get("simulate") is not None:
            path = str(options["simulate"])
            if path == "-":
                simulate(agent, sys.stdin, out, lock)
            else:
                with open(path, encoding="utf-8") as source:
                    simulate(agent, source, out, lock)
        else:
            while not stopping.wait(1.0):  # wake up regularly so the signal handler gets to run
                pass
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gates.agent", description="The reference gate edge agent.")
    add_arguments(parser)
    return run(vars(parser.parse_args(argv)))
