"""Remembers the request being answered, so that a change recorded deep in a
service (a revision, a token, a role) can say from where it came."""

from __future__ import annotations

from contextvars import ContextVar

current_request: ContextVar = ContextVar("current_request", default=None)


def remember_request(get_response):
    def middleware(request):
        token = current_request.set(request)
        try:
            return get_response(request)
        finally:
            current_request.reset(token)

    return middleware
