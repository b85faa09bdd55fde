"""/metrics protection and content, domain counters, the live gauges, log context, Sentry settings."""

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from app.logging import RequestIdFilter, structured_formatter
from app.request_context import organization_ids_var, user_id_var
from bookings import services as booking_services
from bookings.exceptions import SpotUnavailableError
from gates.models import Gate, GateStatus

pytestmark = pytest.mark.django_db


def _value(name, labels=None):
    return REGISTRY.get_sample_value(name, labels or {}) or 0


def test_metrics_answer_loopback_or_the_token_only(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    outside = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert outside.status_code == 403
    assert b"django_http" not in outside.content
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    with_token = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert with_token.status_code == 200
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 200


def test_booking_counters(driver, car, facility, spot, window):
    start, end = window
    created = _value("bookings_created_total", {"kind": "reservation", "source": "app"})
    conflicts = _value("booking_conflicts_total")
    request = booking_services.BookingRequest(
        driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end
    )
    booking_services.booking_create(request)
    with pytest.raises(SpotUnavailableError):
        booking_services.booking_create(request)
    assert _value("booking_conflicts_total") == conflicts + 1
    # "created" is counted after commit, which this test's transaction never reaches
    assert _value("bookings_created_total", {"kind": "reservation", "source": "app"}) == created


def test_bookings_created_counted_after_commit(driver, car, facility, spot, window, django_capture_on_commit_callbacks):
    start, end = window
    before = _value("bookings_created_total", {"kind": "reservation", "source": "app"})
    with django_capture_on_commit_callbacks(execute=True):
        booking_services.booking_create(
            booking_services.BookingRequest(
                driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end
            )
        )
    assert _value("bookings_created_total", {"kind": "reservation", "source": "app"}) == before + 1


def test_live_gauges_and_cache_hits_are_exported(client, facility, owner_a):
    from gates import services as gate_services

    gate, _ = gate_services.gate_create(facility=facility, data={"name": "G"}, actor=owner_a)
    Gate.objects.filter(pk=gate.pk).update(status=GateStatus.OFFLINE)
    cache.set("probe", 1)
    cache.get("probe")
    body = client.get("/metrics").content.decode()
    assert "gates_offline 1.0" in body
    assert 'django_cache_get_hits_total{backend="redis"}' in body


def test_log_lines_carry_the_user_and_their_organizations(org_a):
    member = MembershipFactory(organization=org_a, role=Role.STAFF, user=UserFactory(email="logs@example.com")).user
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(structured_formatter(json=True))
    logger = logging.getLogger("test.context")
    logger.handlers, logger.propagate = [handler], False
    user_token, orgs_token = user_id_var.set(str(member.pk)), organization_ids_var.set({})
    try:
        logger.warning("refund requested")
    finally:
        user_id_var.reset(user_token)
        organization_ids_var.reset(orgs_token)
    line = json.loads(stream.getvalue())
    assert (line["user_id"], line["organization_ids"]) == (str(member.pk), str(org_a.pk))


def test_an_api_request_puts_its_user_into_the_log_context(auth_client, driver, monkeypatch):
    seen = {}
    from accounts.api import views as account_views

    original = account_views.MeApi.get

    def spy(self, request, *args, **kwargs):
        seen["user_id"] = user_id_var.get()
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(account_views.MeApi, "get", spy)
    assert auth_client(driver).get("/api/v1/users/me/").status_code == 200
    assert seen["user_id"] == str(driver.pk)
    assert user_id_var.get() is None  # reset after the request


def test_sentry_is_initialised_only_with_a_dsn_and_without_personal_data():
    code = (
        "import django, sentry_sdk; django.setup(); c = sentry_sdk.get_client(); "
        "print(c.is_active(), c.options.get('send_default_pii'), c.options.get('max_request_body_size'))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "app.settings.test",
        "SENTRY_DSN": "https://key@o1.ingest.sentry.io/1",
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["True", "False", "never"]
    env.pop("SENTRY_DSN")
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split()[0] == "False"


def test_payment_outcomes_by_provider(
    sandbox_provider, driver, car, facility, spot, window, django_capture_on_commit_callbacks
):
    from payments import services as payment_services

    facility.requires_prepayment = True
    facility.save(update_fields=["requires_prepayment"])
    start, end = window
    booking = booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )
    labels = {"provider": "sandbox", "status": "succeeded"}
    before = _value("payment_outcomes_total", labels)
    with django_capture_on_commit_callbacks(execute=True):
        payment, _ = payment_services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
        payment_services.payment_sandbox_confirm(payment=payment)
    assert _value("payment_outcomes_total", labels) == before + 1
