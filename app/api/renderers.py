"""Views that answer something else than JSON (images, calendars, event streams) still answer errors
and OPTIONS metadata as JSON, in the one error shape."""

from typing import Any

from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response


class JsonErrorsMixin:
    """Render error responses (and OPTIONS metadata) as JSON even when an image, a calendar or an
    event stream was negotiated."""

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        needs_json = getattr(response, "exception", False) or request.method == "OPTIONS"
        if needs_json and not isinstance(getattr(request, "accepted_renderer", None), renderers.JSONRenderer):
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = renderers.JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
