"""Content-Security-Policy for everything Django answers (dashboard, API, admin).

Pages load scripts and styles from our own origin only: no inline script, no
inline style, no `eval`, no framing, forms post back to us (or go on to a
configured forge to sign in). An injected `<script>` or `onclick=` in a page
therefore does not run. A view that needs more (Swagger UI styles elements
inline) says so with `@content_security_policy(...)`; the gateway's domains
never pass through here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings

HEADER = "Content-Security-Policy"


def content_security_policy_middleware(get_response: Callable):
    """Adds settings.CONTENT_SECURITY_POLICY unless the view set its own."""

    def middleware(request):
        response = get_response(request)
        if HEADER not in response and settings.CONTENT_SECURITY_POLICY:
            response[HEADER] = settings.CONTENT_SECURITY_POLICY
        return response

    return middleware


def content_security_policy(policy: str):
    """A view decorator: answer with `policy` instead of the default one."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response[HEADER] = policy
            return response

        return wrapped

    return decorator
