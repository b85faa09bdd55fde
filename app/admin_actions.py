"""Admin actions that ask for a reason first (an intermediate page), shared by every app's admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from accounts.models import User
from app.exceptions import ApplicationError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=1000, help_text="Kept in the history."
    )


def with_reason(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    title: str,
    verb: str,
    apply: Callable[[Any, User, str], object],
) -> TemplateResponse | None:
    """An action that asks for a reason first (an intermediate page), then calls ``apply`` per row,
    each in its own service transaction, and reports what was refused."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "objects": list(queryset),
            "count": queryset.count(),
            "form": form,
            "action": request.POST.get("action", ""),
            "opts": modeladmin.model._meta,
        }
        return TemplateResponse(request, "admin/reason_form.html", context)
    assert isinstance(request.user, User)
    done = 0
    for obj in queryset:
        try:
            apply(obj, request.user, form.cleaned_data["reason"])
        except ApplicationError as exc:
            modeladmin.message_user(request, f"Not {verb}: {obj}: {exc.message}", level=messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} {verb}.", level=messages.SUCCESS)
    return None
