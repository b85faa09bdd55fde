"""Container health check: GET /health/ on the local gunicorn; exit 0 when it answers 200.

Sends a Host header taken from ALLOWED_HOSTS, so that the probe passes Django's host validation
whatever the deployment allows (a leading-dot entry allows its domain itself).
"""

import os
import sys
import urllib.request

port = os.environ.get("PORT", "8000")
hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
host = next((h.lstrip(".") for h in hosts if h != "*"), "localhost")
request = urllib.request.Request(  # noqa: S310 - fixed local http URL
    f"http://127.0.0.1:{port}/health/", headers={"Host": host}
)
try:
    with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy"
    sys.stderr.write(f"unhealthy: {exc}\n")
    sys.exit(1)
