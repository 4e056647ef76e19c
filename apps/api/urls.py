from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from scarf.csp import content_security_policy

from . import analytics, migration_checks, views, webhooks
from .not_found import NoSuchEndpoint

# Swagger UI's files are ours (static/vendor/swagger-ui) and it styles elements
# inline; its start-up script is served from here (the split view), so no
# inline script runs and nothing is loaded from elsewhere.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("members", views.MemberViewSet, basename="member")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("tokens", views.TokenViewSet, basename="token")
router.register("domains", views.DomainViewSet, basename="domain")
router.register("packages", views.PackageViewSet, basename="package")
router.register("rules", views.RuleViewSet, basename="rule")
router.register("backends", views.BackendViewSet, basename="backend")
router.register("revisions", views.RevisionViewSet, basename="revision")
router.register(
    "migration-checks", migration_checks.MigrationCheckViewSet, basename="migration-check"
)
router.register("webhooks", webhooks.WebhookViewSet, basename="webhook")
router.register("webhook-deliveries", webhooks.DeliveryViewSet, basename="webhook-delivery")

RESOURCES = (*(prefix for prefix, _viewset, _name in router.registry), "manifest", "resolve")

urlpatterns = [
    path("", views.ApiIndex.as_view(resources=RESOURCES), name="api-index"),
    path("", include(router.urls)),
    path("manifest/", views.ManifestView.as_view(), name="manifest"),
    path("resolve/", views.ResolveView.as_view(), name="resolve"),
    path("analytics/time-series/", analytics.TimeSeriesView.as_view(), name="analytics-series"),
    path("analytics/top/", analytics.TopView.as_view(), name="analytics-top"),
    path("analytics/totals/", analytics.TotalsView.as_view(), name="analytics-totals"),
    path(
        "analytics/unique-sources/",
        analytics.UniqueSourcesView.as_view(),
        name="analytics-unique-sources",
    ),
    path("analytics/export.csv", analytics.CsvExportView.as_view(), name="analytics-csv"),
    path("analytics/export.ndjson", analytics.NdjsonExportView.as_view(), name="analytics-ndjson"),
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    path(
        "docs/",
        content_security_policy(DOCS_POLICY)(
            SpectacularSwaggerSplitView.as_view(
                url_name="schema", authentication_classes=[], permission_classes=[]
            )
        ),
        name="docs",
    ),
    # Last: any other path (ending in "/"; APPEND_SLASH adds one) is a JSON 404.
    re_path(r"^[\s\S]*/$", NoSuchEndpoint.as_view()),
]
