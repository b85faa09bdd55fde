"""OpenAPI: the device key scheme (``Authorization: Gate <key>``), loaded in ``GatesConfig.ready``."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class GateKeyScheme(OpenApiAuthenticationExtension):
    target_class = "gates.auth.GateKeyAuthentication"
    name = "GateKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Gate devices: `Gate <key>` (issued by staff, shown once). User tokens are refused here.",
        }
