"""APPEND_SLASH without losing a request's method and body.

Django answers a path missing its trailing slash with a 301, which clients
follow as a GET: `POST /api/v1/packages` then lists the packages with a 200,
and nothing is created. A 308 is followed with the same method and body."""

from __future__ import annotations

from django.http import HttpResponsePermanentRedirect
from django.middleware.common import CommonMiddleware


class PermanentRedirectKeepingMethod(HttpResponsePermanentRedirect):
    status_code = 308


class AppendSlashKeepingMethod(CommonMiddleware):
    response_redirect_class = PermanentRedirectKeepingMethod
