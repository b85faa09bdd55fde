"""One client process of the HTTP race test (bookings/tests/test_http_race.py); standard library only.

Reads a JSON list of requests ``[{"token", "body"}]`` from stdin, waits until ``--start-at`` (a Unix
time shared by every client process, so they fire together), sends them all at once from threads and
prints one JSON line per response: ``{"status": 201, "body": {...}}``.
"""

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.request


def _post(url: str, token: str, body: dict, results: list, lock: threading.Lock) -> None:
    request = urllib.request.Request(  # noqa: S310 - the URL is the test's own loopback server
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = {"raw": payload.decode(errors="replace")[:500]}
    with lock:
        results.append({"status": status, "body": parsed})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--start-at", type=float, required=True)
    args = parser.parse_args()
    jobs = json.load(sys.stdin)
    results: list = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=_post, args=(args.url, job["token"], job["body"], results, lock)) for job in jobs
    ]
    time.sleep(max(0.0, args.start_at - time.time()))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
