from django.urls import path

from .views import analytics, domains, organisation, packages

urlpatterns = [
    path("", packages.home, name="home"),
    path("packages/new/", packages.package_create, name="package-new"),
    path("packages/<int:package_id>/", packages.package_detail, name="package"),
    path("rules/<int:rule_id>/edit/", packages.rule_edit, name="rule-edit"),
    path("revisions/<int:revision_id>/rollback/", packages.rollback, name="rollback"),
    path("try/", packages.try_request, name="try-request"),
    path("domains/", domains.domain_list, name="domains"),
    path("domains/<int:domain_id>/verify/", domains.verify_domain, name="verify-domain"),
    path("analytics/", analytics.analytics, name="analytics"),
    path("analytics/export.<str:fmt>", analytics.export, name="analytics-export"),
    path("organisation/members/", organisation.members, name="members"),
    path("organisation/tokens/", organisation.tokens, name="tokens"),
    path(
        "organisation/tokens/<int:token_id>/revoke/", organisation.revoke_token, name="revoke-token"
    ),
    path("organisation/settings/", organisation.organisation_settings, name="settings"),
    path("organisation/audit-log/", organisation.audit_log, name="audit-log"),
]
