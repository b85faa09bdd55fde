"""``@idempotent``: Idempotency-Key support for a DRF view handler (contract: ``app.idempotency``).

Usage::

    from idempotency.decorators import IDEMPOTENCY_ERROR_RESPONSES, idempotent

    class BookingCreateApi(APIView):
        @extend_schema(request=BookingCreateInput, responses={201: BookingOutput, **IDEMPOTENCY_ERROR_RESPONSES})
        @idempotent
        def post(self, request: Request) -> Response:
            ...  # unchanged: validate, call one service, serialize

The decorator goes directly on the handler (``post``, a ViewSet's ``create``); with ``@action`` put it
above ``@action``. It documents the ``Idempotency-Key`` header parameter and its 400 by itself; list
``IDEMPOTENCY_ERROR_RESPONSES`` (409, 422) in ``responses`` to describe the other two answers.

The handler runs after authentication, permissions and throttling, outside any transaction the
decorator opens: the claim is committed before the handler starts and the answer is stored after it
returns, each in its own short transaction, so the handler's services keep their own transactions.
Exceptions from the handler are rendered by the view's exception handler here (as ``dispatch`` would)
so that 4xx answers can be stored; transient answers and unhandled errors release the key.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.http import HttpResponseBase
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from app.idempotency import (
    IDEMPOTENCY_ERROR_RESPONSES,
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENCY_KEY_PARAMETER,
    REPLAYED_HEADER,
    STORED_RESPONSE_HEADERS,
    IdempotencyKeyInvalidError,
    endpoint_path,
    is_storable_status,
    request_fingerprint,
    request_scope,
    validate_key,
)

from .services import IdempotencyClaim, StoredResponse, idempotency_claim, idempotency_complete, idempotency_release

__all__ = ["IDEMPOTENCY_ERROR_RESPONSES", "IDEMPOTENCY_KEY_PARAMETER", "idempotent"]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def idempotent(handler: F) -> F:
    """Make a DRF view handler honour ``Idempotency-Key`` (see the module docstring)."""

    @functools.wraps(handler)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        raw_key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
        if raw_key is None:
            return cast(HttpResponseBase, handler(view, request, *args, **kwargs))
        key = validate_key(raw_key)
        # Parse (and fingerprint) the body before claiming: a malformed body is a 400 that never holds the key.
        fingerprint = request_fingerprint(request.data)
        outcome = idempotency_claim(
            scope=request_scope(user=request.user, request=request._request),
            method=str(request.method),
            path=endpoint_path(request.path),
            key=key,
            fingerprint=fingerprint,
        )
        if isinstance(outcome, StoredResponse):
            return _replay(outcome)
        return _run(outcome, handler, view, request, *args, **kwargs)

    # functools.wraps shares the handler's ``kwargs`` dict (where drf-spectacular keeps its schema): copy it.
    if hasattr(wrapper, "kwargs"):
        wrapper.kwargs = dict(wrapper.kwargs)
    return cast(F, _document(wrapper))


def _run(
    claim: IdempotencyClaim, handler: Callable[..., Any], view: APIView, request: Request, *args: Any, **kwargs: Any
) -> HttpResponseBase:
    try:
        try:
            response: HttpResponseBase = handler(view, request, *args, **kwargs)
        except Exception as exc:
            # What dispatch() would do with it; here, so that a 400/404/422 can be stored. An
            # exception the handler does not render (DEBUG) propagates and releases the key below.
            response = view.handle_exception(exc)
    except BaseException:
        _release_quietly(claim)
        raise
    stored = _storable(response)
    if stored is None:
        _release_quietly(claim)
        return response
    try:
        idempotency_complete(claim=claim, response=stored)
    except Exception:
        # The operation is done and the client gets its answer; the record stays in progress until its
        # lease runs out (IDEMPOTENCY_LEASE_SECONDS), so a retry meanwhile gets 409, not a second operation.
        logger.exception("Idempotency record %s: could not store the answer", claim.record_id)
    return response


def _storable(response: HttpResponseBase) -> StoredResponse | None:
    if not isinstance(response, Response) or not is_storable_status(response.status_code):
        return None
    body: str | None = None
    if response.data is not None:
        try:
            body = JSONRenderer().render(response.data).decode()
        except (TypeError, ValueError):
            logger.warning("Idempotency: a %s answer is not JSON-serializable; not stored", response.status_code)
            return None
    headers = {name: str(response[name]) for name in STORED_RESPONSE_HEADERS if response.has_header(name)}
    return StoredResponse(status=response.status_code, body=body, headers=headers)


def _replay(stored: StoredResponse) -> Response:
    data = json.loads(stored.body) if stored.body is not None else None
    return Response(data, status=stored.status, headers={**stored.headers, REPLAYED_HEADER: "true"})


def _release_quietly(claim: IdempotencyClaim) -> None:
    try:
        idempotency_release(claim=claim)
    except Exception:
        # Never mask the handler's own answer or error; the lease frees the key eventually.
        logger.exception("Idempotency record %s: could not release the key", claim.record_id)


def _document(wrapper: Callable[..., Any]) -> Callable[..., Any]:
    """Add the header parameter and its 400 (attr ``Idempotency-Key``) to the operation's schema."""
    wrapper = extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])(wrapper)
    base: type[Any] = wrapper.kwargs["schema"]  # type: ignore[attr-defined]
    if not hasattr(base, "_get_extra_validation_errors"):  # not drf-standardized-errors' AutoSchema
        return wrapper

    class IdempotentSchema(base):
        # drf-standardized-errors builds the 400 schema's attr/code enums from this (pinned 0.16 API).
        def _get_extra_validation_errors(self) -> dict[str, set[str]]:
            errors = dict(super()._get_extra_validation_errors())
            errors[IDEMPOTENCY_KEY_HEADER] = {
                *errors.get(IDEMPOTENCY_KEY_HEADER, set()),
                IdempotencyKeyInvalidError.code,
            }
            return errors

    wrapper.kwargs["schema"] = IdempotentSchema  # type: ignore[attr-defined]
    return wrapper
