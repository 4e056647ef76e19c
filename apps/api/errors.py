"""One error body for every API failure: `{"errors": [{"field", "message"}]}`.

`field` names the offending input (a manifest field as `rules[2].registry`)
or is null for errors about the request as a whole. Messages never repeat
credentials.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework.response import Response
from rest_framework.views import exception_handler

from apps.gateway.engine.manifest import ManifestError
from apps.packages.manifests import ForeignDomains
from apps.packages.services import Rejected

from .parsers import BodyTooLarge

WHOLE_REQUEST = ("non_field_errors", "detail")


def error_body(errors: list[tuple[str | None, str]]) -> dict[str, Any]:
    return {"errors": [{"field": field, "message": str(message)} for field, message in errors]}


def handle_exception(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):  # Django's own check of DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = BodyTooLarge()
    if isinstance(exc, Rejected):
        return Response(error_body(exc.errors), status=exc.status)
    if isinstance(exc, ManifestError):
        errors = [(_manifest_field(p.index, p.field), p.reason) for p in exc.problems]
        return Response(error_body(errors), status=403 if isinstance(exc, ForeignDomains) else 400)
    response = exception_handler(exc, context)
    if response is not None:
        response.data = error_body(list(_flatten(response.data, None)))
    return response


def _manifest_field(index: int | None, field: str) -> str:
    return field if index is None else f"rules[{index}].{field}"


def _field_name(field: str | None, key: str | int) -> str | None:
    """A nested field as the manifest errors write it: `rules[2].registry`;
    DRF keys a list's items by their index."""
    if key in WHOLE_REQUEST:
        return field
    if isinstance(key, int) and field:
        return f"{field}[{key}]"
    return f"{field}.{key}" if field else str(key)


def _flatten(data: Any, field: str | None):
    """DRF's nested error details as (field, message) pairs, fields dotted."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _flatten(value, _field_name(field, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            nested = isinstance(value, dict | list)
            yield from _flatten(value, f"{field}[{index}]" if nested and field else field)
    else:
        yield field, str(data)
