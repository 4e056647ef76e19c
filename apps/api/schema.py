"""OpenAPI details drf-spectacular cannot infer: the bearer-token scheme and
the error body every operation may answer with."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_STATUSES = {
    "400": "invalid input; each error names its field",
    "401": "no credentials, or a revoked or expired token",
    "403": "the role or token scope does not allow this",
    "404": "no such object in this organisation",
    "429": "rate limit reached; retry after `Retry-After` seconds",
}
# Only operations that take a body can send one too large.
BODY_ERROR_STATUSES = {"413": "the request body is larger than the server accepts"}
ERRORS_SCHEMA = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                },
                "required": ["field", "message"],
            },
        }
    },
    "required": ["errors"],
}
ERRORS_EXAMPLE = {"errors": [{"field": "outgoing-url", "message": "must be an http(s) URL"}]}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token of the organisation: `Authorization: Bearer gw_…`.",
        }


def document_errors(result, generator, request, public):
    """Postprocessing hook: every operation documents the shared error body,
    for the statuses any may answer and those an operation declares (409)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Errors"] = ERRORS_SCHEMA
    content = {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/Errors"},
            "examples": {"Errors": {"value": ERRORS_EXAMPLE}},
        }
    }
    for path in result["paths"].values():
        for operation in path.values():
            statuses = ERROR_STATUSES | (BODY_ERROR_STATUSES if "requestBody" in operation else {})
            for code, description in statuses.items():
                operation["responses"].setdefault(code, {"description": description})
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    response.setdefault("content", content)
    return result
