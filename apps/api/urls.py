from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import views

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
