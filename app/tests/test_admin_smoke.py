"""Every back-office page: each registered model's changelist, add and change pages answer 200 for a
platform admin; no changelist makes more queries with two slices of data than with one (no N+1); a
staff member of another organization sees none of the rows."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory

from .scenario import build

pytestmark = pytest.mark.django_db

PLATFORM_ONLY = {
    "idempotency.idempotencyrecord",
    "enforcement.jobrun",
    "accounts.refreshtokenfamily",
    "vehicles.vehicle",
}


@pytest.fixture(autouse=True)
def _sandbox(sandbox_provider):
    """The scenario pays with the sandbox provider."""


def _models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label_lower)


def _url(model, page="changelist", *args):
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/" + {"changelist": "", "add": "add/"}.get(
        page, f"{args[0]}/change/" if args else ""
    )


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def test_every_page_answers_and_no_changelist_grows_with_the_data(admin_user):
    build(1)
    client = Client()
    client.force_login(admin_user)
    one = {model: _queries(client, _url(model)) for model in _models()}
    for model, model_admin in admin.site._registry.items():
        first = model_admin.get_queryset(type("R", (), {"user": admin_user})()).first()  # type: ignore[arg-type]
        if first is not None:
            assert client.get(_url(model, "change", first.pk)).status_code == 200, model
        if model_admin.has_add_permission(type("R", (), {"user": admin_user, "method": "GET"})()):  # type: ignore[arg-type]
            assert client.get(_url(model, "add")).status_code == 200, model

    build(2)
    two = {model: _queries(client, _url(model)) for model in _models()}
    grown = {model._meta.label_lower: (one[model], two[model]) for model in _models() if two[model] > one[model]}
    assert grown == {}
    assert max(two.values()) <= 30


def test_staff_of_another_organization_sees_no_rows(admin_user):
    build(1)
    outsider = UserFactory(email="outsider@example.com", is_staff=True)
    outsider.user_permissions.add(*Permission.objects.all())
    MembershipFactory(organization=OrganizationFactory(name="Other", slug="other"), role=Role.OWNER, user=outsider)
    client = Client()
    client.force_login(outsider)
    leaked = {}
    for model in _models():
        label = model._meta.label_lower
        response = client.get(_url(model))
        if response.status_code == 403:
            assert label in PLATFORM_ONLY or model._meta.app_label.startswith("django_celery"), label
            continue
        assert response.status_code == 200, label
        count = response.context["cl"].result_count
        if count:
            leaked[label] = count
    # only the outsider's own organization, membership and account
    assert leaked == {"accounts.organization": 1, "accounts.membership": 1, "accounts.user": 1}
