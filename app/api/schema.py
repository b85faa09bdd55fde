"""The OpenAPI AutoSchema of every view (drf-standardized-errors' error documentation, plus one rule).

drf-spectacular documents ``GET`` on a plain ``GenericAPIView`` as a single object unless the view is
a ``ListModelMixin``. Our list views are thin ``GenericAPIView``s whose handler returns
``self.get_paginated_response(...)``; for those the response is documented as the paginated page
(``count``/``next``/``previous``/``results``) — found by schemathesis, which saw pages where the
schema promised one object."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema


@functools.cache
def _returns_a_page(handler: Any) -> bool:
    try:
        return "get_paginated_response(" in inspect.getsource(handler)
    except (OSError, TypeError):
        return False


class AutoSchema(StandardizedErrorsAutoSchema):
    def _is_list_view(self, serializer: Any = None) -> bool:
        handler = getattr(type(self.view), self.method.lower(), None)
        if self.method == "GET" and handler is not None and _returns_a_page(inspect.unwrap(handler)):
            return True
        return bool(super()._is_list_view(serializer))

    def _get_filter_parameters(self) -> Any:
        # Our list views build their querysets from the request's user (selectors), which the schema
        # generator's fake request has not got: name the model from the filterset or the serializer.
        view = self.view
        if getattr(view, "queryset", None) is None:
            serializer = self.get_response_serializers()
            model = getattr(getattr(getattr(view, "filterset_class", None), "_meta", None), "model", None) or getattr(
                getattr(serializer, "Meta", None), "model", None
            )
            if model is not None:
                view.queryset = model._default_manager.none()  # type: ignore[attr-defined]
        return super()._get_filter_parameters()
