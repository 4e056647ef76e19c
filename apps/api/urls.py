from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import analytics, views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("members", views.MemberViewSet, basename="member")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("tokens", views.TokenViewSet, basename="token")
router.register("domains", views.DomainViewSet, basename="domain")
router.register("packages", views.PackageViewSet, basename="package")
router.register("rules", views.RuleViewSet, basename="rule")
router.register("revisions", views.RevisionViewSet, basename="revision")

urlpatterns = [
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
        SpectacularSwaggerView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[]
        ),
        name="docs",
    ),
]
