"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse


def healthz(request):
    """The process is alive and serving requests."""
    return HttpResponse("ok\n", content_type="text/plain")


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_redis() -> str:
    if settings.EMBEDDED:
        return "not used (embedded mode)"
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def readyz(request):
    """Ready to serve: the database and Redis answer. 503 names what failed."""
    checks, failed = {}, []
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        try:
            checks[name] = check()
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            checks[name] = f"failed: {error.__class__.__name__}"
            failed.append(name)
    status = 503 if failed else 200
    return JsonResponse(
        {"status": "fail" if failed else "ok", "failed": failed, "checks": checks}, status=status
    )
