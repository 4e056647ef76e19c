"""The benchmark's plain Django view: the gateway's lookup behind Django's
default middleware (the settings module, URLs and view of a minimal site).

    DJANGO_SETTINGS_MODULE=bench.django_view gunicorn 'django.core.wsgi:get_wsgi_application()'
"""

from django.http import HttpResponse
from django.urls import re_path

from scarf.settings import *  # noqa: F403

ROOT_URLCONF = "bench.django_view"
# The product's apps, without the accounts library that asks for its own middleware.
INSTALLED_APPS = [
    app
    for app in INSTALLED_APPS  # noqa: F405
    if not app.startswith("allauth") and app != "apps.security"
]
ALLOWED_HOSTS = ["*"]
# The middleware `django-admin startproject` writes.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
APPEND_SLASH = False

_table = None


def redirect(request):
    """Resolve like the gateway, answer with Django's response object."""
    from apps.gateway.app import request_from_environ
    from apps.gateway.routing import RoutingTable, make_source

    global _table
    if _table is None:
        _table = RoutingTable(make_source())
        _table.start_watching()
    engine_request = request_from_environ(request.META, ())
    routes = _table.get(engine_request.host)
    if routes is None:
        return HttpResponse(status=404)
    answer = routes.resolve(engine_request).response
    response = HttpResponse(status=answer.status)
    if getattr(answer, "location", None):
        response["Location"] = answer.location
    return response


urlpatterns = [re_path(r"", redirect)]
