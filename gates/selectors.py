from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import organization_ids_for
from app.exceptions import NotFoundError

from .models import Gate


def gate_list_managed(*, actor: User) -> QuerySet[Gate]:
    return Gate.objects.filter(organization_id__in=organization_ids_for(actor=actor)).select_related("facility")


def gate_get_managed(*, actor: User, gate_id: int) -> Gate:
    gate = gate_list_managed(actor=actor).filter(pk=gate_id).first()
    if gate is None:
        raise NotFoundError("Gate not found.")
    return gate
