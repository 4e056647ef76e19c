"""JSON bodies the database can store, of a size and depth the server is willing to hold."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

# No API input nests deeper than a few levels (a manifest's rules are 3 deep);
# far deeper documents would only exhaust the recursion of later steps.
MAX_DEPTH = 32


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the server accepts."
    default_code = "too_large"


class StrictJSONParser(JSONParser):
    """JSON of at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes, at most MAX_DEPTH
    levels deep, without NUL characters in any string: PostgreSQL text and
    jsonb cannot hold them, and no manifest field has a use for one.

    The size is checked here too, not only by Django, in case the body is read
    straight from the request stream: no more than the limit (and one byte)
    is ever read.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise BodyTooLarge()
            stream = io.BytesIO(body)
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError(f"JSON nested more than {MAX_DEPTH} levels deep") from error
        check_storable(data)
        return data


def check_storable(data: Any) -> None:
    """Raise ParseError for nesting deeper than MAX_DEPTH or a string with NUL
    (without recursion, so any depth json can parse is checked)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ParseError("strings must not contain NUL characters")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise ParseError(f"JSON nested more than {MAX_DEPTH} levels deep")
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        pending.extend((item, depth + 1) for item in items)
