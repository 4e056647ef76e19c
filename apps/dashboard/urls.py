from django.urls import path

from .views import (
    analytics,
    domains,
    migration_checks,
    organisation,
    packages,
    security,
    webhooks,
)

urlpatterns = [
    path("", packages.home, name="home"),
    path("packages/new/", packages.package_create, name="package-new"),
    path("packages/<int:package_id>/", packages.package_detail, name="package"),
    path("packages/<int:package_id>/delete/", packages.package_delete, name="package-delete"),
    path(
        "packages/<int:package_id>/public-stats/",
        packages.package_public_stats,
        name="package-public-stats",
    ),
    path("packages/<int:package_id>/rules/new/", packages.rule_create, name="rule-new"),
    path("rules/<int:rule_id>/edit/", packages.rule_edit, name="rule-edit"),
    path("rules/<int:rule_id>/delete/", packages.rule_delete, name="rule-delete"),
    path("revisions/<int:revision_id>/", packages.revision_detail, name="revision"),
    path("revisions/<int:revision_id>/rollback/", packages.rollback, name="rollback"),
    path("try/", packages.try_request, name="try-request"),
    path("domains/", domains.domain_list, name="domains"),
    path("domains/<int:domain_id>/verify/", domains.verify_domain, name="verify-domain"),
    path("domains/<int:domain_id>/https-only/", domains.https_only, name="domain-https-only"),
    path("domains/<int:domain_id>/delete/", domains.domain_delete, name="domain-delete"),
    path("analytics/", analytics.analytics, name="analytics"),
    path("analytics/packages/", analytics.package_suggestions, name="analytics-packages"),
    path("analytics/export.<str:fmt>", analytics.export, name="analytics-export"),
    path("organisation/members/", organisation.members, name="members"),
    path(
        "organisation/members/<int:membership_id>/role/",
        organisation.member_role,
        name="member-role",
    ),
    path(
        "organisation/members/<int:membership_id>/remove/",
        organisation.member_remove,
        name="member-remove",
    ),
    path(
        "organisation/invitations/<int:invitation_id>/revoke/",
        organisation.revoke_invitation,
        name="revoke-invitation",
    ),
    path(
        "organisation/two-factor/",
        organisation.two_factor_requirement,
        name="two-factor-requirement",
    ),
    path("organisation/tokens/", organisation.tokens, name="tokens"),
    path(
        "organisation/tokens/<int:token_id>/revoke/", organisation.revoke_token, name="revoke-token"
    ),
    path("organisation/settings/", organisation.organisation_settings, name="settings"),
    path("organisation/audit-log/", organisation.audit_log, name="audit-log"),
    path("organisation/security-log/", security.security_log, name="security-log"),
    path("organisation/webhooks/", webhooks.webhook_list, name="webhooks"),
    path(
        "organisation/webhooks/<int:webhook_id>/test/", webhooks.webhook_test, name="webhook-test"
    ),
    path(
        "organisation/webhooks/<int:webhook_id>/rotate/",
        webhooks.webhook_rotate,
        name="webhook-rotate",
    ),
    path(
        "organisation/webhooks/<int:webhook_id>/delete/",
        webhooks.webhook_delete,
        name="webhook-delete",
    ),
    path("migration-checks/", migration_checks.check_list, name="migration-checks"),
    path("migration-checks/<int:check_id>/", migration_checks.check_detail, name="migration-check"),
    path(
        "migration-checks/<int:check_id>/switch/",
        migration_checks.check_switch,
        name="migration-check-switch",
    ),
]
