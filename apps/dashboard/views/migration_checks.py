"""Migration checks: start one for a rule and a new backend, watch its
report arrive, and switch once it is clean (the switch is a revision, rolled
back from the audit log)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.roles import MANAGE, READ, role_required
from apps.gateway.engine.backends import backend_fields
from apps.migration_checks.backends import BackendDescription
from apps.migration_checks.checks import start_check
from apps.migration_checks.inventory import FILE_COMPARISONS
from apps.migration_checks.models import MigrationCheck
from apps.packages import services
from apps.packages.models import Rule

from ..decorators import is_htmx, recent_authentication_required, sees_and_changes
from .packages import actor

RECENT_CHECKS = 50
# What the "items" box lists, by rule type: what the backend cannot list itself.
SCOPE_OF_TYPE = {
    "docker-v1": "tags",
    "docker-v2": "repositories",
    "npm-v1": "packages",
    "file-v1": "paths",
    "file-v2": "paths",
    "catch-all-v1": "paths",
}


class StartCheckForm(forms.Form):
    rule = forms.ModelChoiceField(queryset=Rule.objects.none())
    backend = forms.CharField(
        label="New backend",
        max_length=2000,
        help_text="The new registry, index URL or outgoing URL (the rule's first backend field).",
    )
    items = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: paths (file rules), packages (npm scopes), repositories "
        "(image patterns, default: the registry's catalog) or tags (images, default: all).",
    )
    file_comparison = forms.ChoiceField(choices=[(c, c) for c in FILE_COMPARISONS])

    def __init__(self, organisation, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rules = Rule.objects.filter(
            domain__organisation=organisation,
            type__in=SCOPE_OF_TYPE.keys() | {"python-v1", "python-index-v1"},
        )
        self.fields["rule"].queryset = rules.select_related("domain", "package")


@sees_and_changes(MANAGE)
def check_list(request):
    organisation = request.organisation
    form = StartCheckForm(organisation, request.POST or None)
    if request.method == "POST" and form.is_valid():
        rule, data = form.cleaned_data["rule"], form.cleaned_data
        lines = [line.strip() for line in data["items"].splitlines() if line.strip()]
        scope = {"file_comparison": data["file_comparison"]}
        if rule.type in SCOPE_OF_TYPE and lines:
            scope[SCOPE_OF_TYPE[rule.type]] = lines
        new = {backend_fields(rule.type)[0]: data["backend"]}
        try:
            check = start_check(rule, actor(request), new=new, scope=scope)
        except services.Rejected as rejected:
            for _field, message in rejected.errors:
                form.add_error(None, message)
        else:
            return redirect("migration-check", check.id)
    checks = organisation.migration_checks.select_related("rule__package")[:RECENT_CHECKS]
    return render(request, "dashboard/migration_checks.html", {"checks": checks, "form": form})


@role_required(READ)
def check_detail(request, check_id: int):
    check = get_object_or_404(MigrationCheck, id=check_id, organisation=request.organisation)
    context = {
        "check": check,
        "old": BackendDescription(check.old).label(),
        "new": BackendDescription(check.new).label(),
    }
    template = (
        "dashboard/_migration_check.html" if is_htmx(request) else "dashboard/migration_check.html"
    )
    return render(request, template, context)


@require_POST
@role_required(MANAGE)
@recent_authentication_required
def check_switch(request, check_id: int):
    """Move the check's rule to its new backend, if the guard allows."""
    check = get_object_or_404(MigrationCheck, id=check_id, organisation=request.organisation)
    if check.rule is None:
        messages.error(request, "The check's rule no longer exists.")
        return redirect("migration-check", check.id)
    try:
        services.switch_backend(check.rule, actor(request), BackendDescription(check.new).fields)
    except services.Rejected as rejected:
        messages.error(request, "; ".join(message for _field, message in rejected.errors))
        return redirect("migration-check", check.id)
    messages.success(
        request,
        f"{check.rule.package} now uses {BackendDescription(check.new).label()}; "
        "roll it back from the audit log.",
    )
    return redirect("package", check.rule.package_id)
