"""OPTIONS answers: name, description, media types — no per-field "actions" introspection (it needs a
serializer on every view, and the OpenAPI schema at /api/schema/ describes the inputs anyway)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.metadata import SimpleMetadata

if TYPE_CHECKING:  # rest_framework.views imports this module while it loads: no runtime import
    from rest_framework.request import Request
    from rest_framework.views import APIView


class SchemaPointerMetadata(SimpleMetadata):
    def determine_metadata(self, request: Request, view: APIView) -> dict[str, Any]:
        metadata = super().determine_metadata(request, view)
        metadata["schema"] = "/api/schema/"
        return metadata

    def determine_actions(self, request: Request, view: APIView) -> dict[str, Any]:
        return {}
