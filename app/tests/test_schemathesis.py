"""Schemathesis over the whole OpenAPI schema, in process (WSGI), with a bounded budget: every
operation (all methods, OPTIONS included), positive and negative data, as a signed-in driver.

Enforced here: no server error on any operation (all 155). Full conformance (``SCHEMATHESIS_ALL_CHECKS=1``)
is the target and not enforced yet: list pages and the 400 error type are fixed; what is left is
listed in bench/README.md ("Schema conformance")."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.checks import not_a_server_error

from accounts.tests.factories import UserFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "4"))
# SCHEMATHESIS_ALL_CHECKS=1 runs every schemathesis check (response conformance too) — the target.
CHECKS = None if os.environ.get("SCHEMATHESIS_ALL_CHECKS") else [not_a_server_error]


@pytest.fixture(autouse=True)
def short_streams(settings):
    settings.LIVE_STREAM_SECONDS = 0  # the event stream answers at once instead of holding the request


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """As Django's test client does: a finished WSGI request must not close the test's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db):
    return str(AccessToken.for_user(UserFactory(email="fuzz@example.com")))


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@pytest.mark.django_db
def test_every_operation_answers_as_documented(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
