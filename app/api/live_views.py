from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from app import live
from app.api.authentication import ContextJWTAuthentication
from app.api.helpers import request_user
from app.api.openapi import ClientErrorResponseSerializer
from app.api.renderers import JsonErrorsMixin
from app.events import EVENT_TYPES
from app.exceptions import ApplicationError


class EventStreamRenderer(BaseRenderer):
    media_type = "text/event-stream"
    format = "event-stream"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return b"" if data is None else str(data).encode()


class StreamTokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds.")


class StreamTokenApi(generics.GenericAPIView):
    serializer_class = StreamTokenOutputSerializer

    @extend_schema(
        operation_id="events_stream_token",
        tags=["events"],
        request=None,
        responses={200: StreamTokenOutputSerializer},
        summary="A 60-second token for opening the live stream from a browser (EventSource sends no headers)",
    )
    def post(self, request: Request) -> Response:
        return Response({"token": live.stream_token_issue(request_user(request)), "expires_in": live.TOKEN_MAX_AGE})


class EventEnvelopeSerializer(serializers.Serializer):
    """One event as carried in an SSE ``data:`` line (and a webhook body)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # "data" is a field here, which the Serializer class itself reserves as an attribute.
        return {
            "id": serializers.CharField(),
            "type": serializers.ChoiceField(choices=EVENT_TYPES),
            "created_at": serializers.DateTimeField(),
            "data": serializers.DictField(),
        }


class EventStreamApi(JsonErrorsMixin, generics.GenericAPIView):
    serializer_class = EventEnvelopeSerializer

    authentication_classes = (ContextJWTAuthentication, SessionAuthentication)
    permission_classes = (AllowAny,)  # checked below: a token in the query string is accepted too
    renderer_classes = (JSONRenderer, EventStreamRenderer)

    @extend_schema(
        operation_id="events_stream",
        tags=["events"],
        parameters=[
            OpenApiParameter(
                "token", str, description="From `POST /events/stream-token/` (or authenticate with the header)."
            )
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR,
                description=(
                    "Server-Sent Events: `event: booking.created|booking.updated|spot.availability|gate.status|"
                    "review.created`, `id:` the event id, `data:` the event JSON (as in docs/webhooks.md). Drivers get "
                    "their own bookings' events, members their organizations'. Heartbeat comments every 15 s."
                ),
            ),
            401: OpenApiResponse(ClientErrorResponseSerializer),
            503: OpenApiResponse(ClientErrorResponseSerializer, description="`live_events_unavailable` (no Redis)."),
        },
        summary="Live events (SSE)",
    )
    def get(self, request: Request) -> Any:
        user: User | None = request.user if isinstance(request.user, User) else None
        if user is None and request.query_params.get("token"):
            user = live.stream_token_user(request.query_params["token"])
        if user is None:
            raise ApplicationError(
                "Authentication credentials were not provided.", code="not_authenticated", http_status=401
            )
        events = live.stream(user)
        if events is None:
            raise ApplicationError(
                "Live events need Redis (REDIS_URL).", code="live_events_unavailable", http_status=503
            )
        response = StreamingHttpResponse(events, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
        return response
