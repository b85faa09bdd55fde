import io

import pytest
from django.core.management import call_command

from gates.models import Gate, GateKey

pytestmark = pytest.mark.django_db


def test_demo_gate_is_created_once_with_a_working_key():
    first = io.StringIO()
    call_command("seed_demo", stdout=first)
    second = io.StringIO()
    call_command("seed_demo", stdout=second)

    gate = Gate.objects.get()
    assert (gate.facility.slug, gate.allow_drive_in) == ("mission-street-garage", True)
    key = first.getvalue().split("key (shown once): ")[1].split()[0]
    assert GateKey.objects.filter(gate=gate, revoked_at__isnull=True).count() == 1
    assert "gates:" not in second.getvalue()

    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Gate {key}")
    assert client.get("/api/v1/gates/poll/").json()["config"]["name"] == "Main gate"
