"""Schemathesis over the whole OpenAPI schema, in process (WSGI), with a bounded budget: every
operation (all methods, OPTIONS included), positive and negative data, as a signed-in driver.

Enforced here: no server error on any operation. Full response-schema conformance is not enforced
yet: the first full run listed schema gaps (list endpoints documented as single objects, some
documented-valid inputs refused and some invalid ones accepted) that are being fixed — see the
session notes and bench/README.md ("Schema conformance")."""

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
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])
