"""``/metrics`` (Prometheus text format), protected: a bearer token (``METRICS_TOKEN``) or a client
address in ``METRICS_ALLOWED_NETWORKS`` (default: loopback only). Everything else is 403.

Besides the process-level counters the apps export (requests and latencies per route from
django-prometheus, bookings, payments, webhooks, gate decisions, jobs, cache hits), a collector reads
a few live numbers from the database at scrape time (gates offline now)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django_prometheus.exports import ExportToDjangoView
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.middleware import client_ip

logger = logging.getLogger(__name__)


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    address = client_ip(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponseForbidden("metrics: token or allowed network required\n", content_type="text/plain")
    return ExportToDjangoView(request)


class LiveStateCollector(Collector):
    """Gauges read from the database when Prometheus scrapes."""

    def describe(self) -> Iterator[Metric]:
        # Registration asks for the names only: no database query at import time.
        yield GaugeMetricFamily("gates_offline", "Gates offline now (not polling).")

    def collect(self) -> Iterator[Metric]:
        from gates.models import Gate, GateStatus

        offline = GaugeMetricFamily("gates_offline", "Gates offline now (not polling).")
        try:
            offline.add_metric([], Gate.objects.filter(status=GateStatus.OFFLINE).count())
        except DatabaseError:
            logger.warning("metrics: could not count offline gates", exc_info=True)
            return
        yield offline


_collector = LiveStateCollector()
if _collector not in getattr(REGISTRY, "_collector_to_names", {}):
    REGISTRY.register(_collector)
