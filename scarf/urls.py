from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from . import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Browsers ask for /favicon.ico on pages that name no icon (the API's JSON).
    path(
        "favicon.ico",
        serve,
        {"path": "favicon.svg", "document_root": settings.BASE_DIR / "static"},
        name="favicon",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("api/v1/", include("apps.api.urls")),
    path("stats/", include("apps.publicstats.urls")),
    path("", include("apps.dashboard.urls")),
]
