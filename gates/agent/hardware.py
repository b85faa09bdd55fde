"""The lane hardware as the agent drives it: barrier, display, alarm.

A real installation implements ``GateHardware`` for its controller (GPIO relay, Modbus, a vendor SDK)
and passes it to ``Agent``. ``ConsoleHardware`` prints what a barrier would do (``OPEN 8s``,
``DISPLAY Welcome``, ``CLOSE``, ``ALARM …``), for demos and tests.
"""

from __future__ import annotations

import sys
import threading
from typing import Protocol, TextIO


class GateHardware(Protocol):
    def open(self, seconds: int) -> None:
        """Raise the barrier for ``seconds`` (it closes by itself after the vehicle passed)."""

    def close(self) -> None:
        """Lower the barrier now (a staff command)."""

    def show(self, message: str) -> None:
        """Show a message to the driver."""

    def alarm(self, text: str) -> None:
        """Call for staff (a light, a buzzer, a page)."""


class ConsoleHardware:
    """Prints one line per action to ``stream`` (stdout by default); safe from several threads."""

    def __init__(self, stream: TextIO | None = None, lock: threading.Lock | None = None) -> None:
        self._stream = stream
        self._lock = lock or threading.Lock()

    def _line(self, text: str) -> None:
        with self._lock:
            stream = self._stream or sys.stdout
            stream.write(text + "\n")
            stream.flush()

    def open(self, seconds: int) -> None:
        self._line(f"OPEN {seconds}s")

    def close(self) -> None:
        self._line("CLOSE")

    def show(self, message: str) -> None:
        self._line(f"DISPLAY {message}")

    def alarm(self, text: str) -> None:
        self._line(f"ALARM {text}")
