"""Liveness/readiness probes and JSON error pages for paths outside DRF views."""

from typing import Any

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes


@extend_schema(
    operation_id="health",
    summary="Liveness: the process is up",
    responses={200: inline_serializer("Health", {"status": serializers.CharField()})},
    tags=["ops"],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def health(request: HttpRequest) -> Any:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    # IGNORE_EXCEPTIONS hides Redis failures from normal code; readiness must see them.
    client = getattr(cache, "client", None)
    if client is not None and hasattr(client, "get_client"):
        client.get_client(write=True).ping()
        return
    cache.set("ready-probe", "1", 5)
    if cache.get("ready-probe") != "1":
        raise RuntimeError("cache did not return the value written")


def _check_broker() -> None:
    from app.celery import app as celery_app

    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


READINESS_CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@extend_schema(
    operation_id="ready",
    summary="Readiness: database, cache and broker reachable (503 names the failed ones)",
    responses={
        200: inline_serializer(
            "Ready", {"status": serializers.CharField(), "checks": serializers.DictField(child=serializers.CharField())}
        ),
        503: inline_serializer(
            "NotReady",
            {"status": serializers.CharField(), "checks": serializers.DictField(child=serializers.CharField())},
        ),
    },
    tags=["ops"],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def ready(request: HttpRequest) -> Any:
    results: dict[str, str] = {}
    for name, check in READINESS_CHECKS.items():
        try:
            check()
        except Exception:  # noqa: BLE001 - any failure means "not ready"; the name is what matters
            results[name] = "unavailable"
        else:
            results[name] = "ok"
    failed = [name for name, result in results.items() if result != "ok"]
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed, "checks": results}, status=503)
    return JsonResponse({"status": "ok", "checks": results})


def _error(status: int, type_: str, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"type": type_, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _error(404, "client_error", "not_found", "Not found.")


def server_error(request: HttpRequest) -> JsonResponse:
    return _error(500, "server_error", "error", "Server Error (500)")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _error(400, "client_error", "bad_request", "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _error(403, "client_error", "permission_denied", "You do not have permission to perform this action.")
