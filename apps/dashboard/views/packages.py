"""Packages: the list, creating one from a guided form, its page with the
commands users run, adding, switching and deleting its rules, deleting it,
its history (each revision's changes) and rollbacks, and the "try a
request" box."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.accounts.roles import MANAGE, READ, role_required
from apps.analytics import queries
from apps.gateway.engine.manifest import parse_rule
from apps.gateway.explain import resolve_request
from apps.packages import services
from apps.packages.health import backends_of
from apps.packages.models import Package, Revision, Rule

from ..commands import commands_for, first_request
from ..decorators import is_htmx, recent_authentication_required, sees_and_changes
from ..forms import (
    KIND_BY_TYPE,
    KINDS,
    PackageListForm,
    PublicStatsForm,
    RuleForm,
    TryRequestForm,
    initial_of,
)
from ..snapshots import compare
from ..stats import filled, package_overview, sparkline
from .deleting import confirm_deletion

SPARKLINE_DAYS = 30


def actor(request) -> services.Actor:
    return services.Actor(user=request.user)


@login_required
def home(request):
    """The organisation's packages, searched, ordered and a page at a time, with
    their last 30 days; and its domains. A bounded number of queries at any size."""
    organisation = request.organisation
    if organisation is None:
        return render(request, "dashboard/no_organisation.html")
    listing = PackageListForm(request.GET)
    search, order = listing.selection()
    end = datetime.now(UTC).date()
    start = end - timedelta(days=SPARKLINE_DAYS - 1)
    packages = organisation.packages.all()
    if search:
        packages = packages.filter(Q(name__icontains=search) | Q(key__icontains=search))
    ranking = ACTIVITY_ORDERS.get(order)
    if ranking:  # every package's downloads are counted (one query)
        activity = queries.package_activity(organisation.id, start, end)
        listed = sorted(
            packages.values_list(*ROW_FIELDS, named=True),
            key=lambda package: ranking(package, activity.get(package.key, NO_ACTIVITY)),
        )
    else:  # the database orders and counts
        listed = packages.order_by(*DATABASE_ORDERS[order]).values_list(*ROW_FIELDS, named=True)
    page = Paginator(listed, PACKAGES_PER_PAGE).get_page(request.GET.get("page"))
    keys = [package.key for package in page]
    if not ranking:  # only the page's packages are counted
        activity = queries.package_activity(organisation.id, start, end, keys)
    page.object_list = [package_row(package, activity) for package in page]
    days = queries.package_days(organisation.id, start, end, keys)
    for row in page:
        row["points"] = sparkline(filled(days.get(row["key"], {}), start, end))
    return render(
        request,
        "dashboard/home.html",
        {
            "page": page,
            "rows": page.object_list,
            "listing": listing,
            "search": search,
            "order": order,
            "page_query": urlencode({"q": search, "sort": order}),
            "has_packages": page.paginator.count > 0 or organisation.packages.exists(),
            "domains": organisation.domains.order_by("hostname"),
            "try_form": TryRequestForm(organisation.domains.filter(verified=True)),
        },
    )


PACKAGES_PER_PAGE = 50
ROW_FIELDS = ("id", "key", "name", "kind")
KIND_LABELS = dict(Package.KINDS)
NO_ACTIVITY = {"downloads": 0, "last": None}
# The kinds' codes sort as their labels do, case aside.
DATABASE_ORDERS = {"name": (Lower("name"), "key"), "kind": ("kind", Lower("name"), "key")}
ACTIVITY_ORDERS = {
    "downloads": lambda package, activity: (
        -activity["downloads"],
        package.name.lower(),
        package.key,
    ),
    "last": lambda package, activity: (
        activity["last"] is None,
        -(activity["last"].toordinal() if activity["last"] else 0),
        package.name.lower(),
        package.key,
    ),
}


def package_row(package, activity: dict[str, dict]) -> dict:
    """A package's row: its kind's label, its downloads and last download day
    (none in the range: 0, None)."""
    return {
        **package._asdict(),
        "kind": KIND_LABELS[package.kind],
        **activity.get(package.key, NO_ACTIVITY),
    }


@sees_and_changes(MANAGE)
@recent_authentication_required
def package_create(request):
    kind = KIND_BY_TYPE.get(request.GET.get("type", ""))
    if kind is None:
        return render(request, "dashboard/package_kinds.html", {"kinds": KINDS})
    form = RuleForm(kind, request.organisation.domains.all(), request.POST or None)
    return _create_rule(
        request, form, "dashboard/package_new.html", {"kind": kind}, new_package=True
    )


@sees_and_changes(MANAGE)
@recent_authentication_required
def rule_create(request, package_id: int):
    """Another rule for a package: on another domain, path or backend."""
    package = _package(request, package_id)
    kinds = [kind for kind in KINDS if Rule.KIND_OF_TYPE[kind.type] == package.kind]
    kind = KIND_BY_TYPE.get(request.GET.get("type", ""))
    if kind not in kinds:
        return render(request, "dashboard/package_kinds.html", {"kinds": kinds, "package": package})
    base = {"type": kind.type, Rule.package_key_field(kind.type): package.key}
    form = RuleForm(
        kind,
        request.organisation.domains.all(),
        request.POST or None,
        base=base,
        initial={"package_name": package.name},
    )
    return _create_rule(
        request, form, "dashboard/rule_new.html", {"kind": kind, "package": package}
    )


def _create_rule(
    request, form: RuleForm, template: str, context: dict, *, new_package: bool = False
):
    """Save a valid rule form's rule (live from then on) and show its package;
    an htmx request only checks the fields filled in so far."""
    if request.method == "POST" and form.is_valid() and not is_htmx(request):
        try:
            rule = services.create_rule(
                request.organisation,
                actor(request),
                form.manifest_form(),
                new_package=new_package,
            )
        except services.Rejected as rejected:
            for field, message in rejected.errors:
                form.add_rejection(field, message)
        else:
            saved = f"{rule.get_type_display()} rule of {rule.package.name} on {rule.domain}"
            when = "now" if rule.domain.verified else f"once {rule.domain} is verified"
            messages.success(request, f"Saved the {saved}; it serves downloads {when}.")
            return redirect("package", rule.package_id)
    if is_htmx(request):
        template = "dashboard/_rule_form_errors.html"
    return render(request, template, {**context, "form": form})


def _package(request, package_id: int) -> Package:
    return get_object_or_404(Package, id=package_id, organisation=request.organisation)


HISTORY_SHOWN = 10


def _history(package: Package) -> dict:
    """The package's newest changes; the audit log, filtered to it, has them all."""
    revisions = package.organisation.revisions.select_related("reverts").about_package(package.key)
    newest = list(revisions[: HISTORY_SHOWN + 1])
    return {
        "revisions": newest[:HISTORY_SHOWN],
        "more": len(newest) > HISTORY_SHOWN,
        "all": reverse("audit-log") + "?" + urlencode({"package": package.key}),
    }


@role_required(READ)
def package_detail(request, package_id: int):
    package = _package(request, package_id)
    rules = list(package.rules.select_related("domain", "package"))
    domains = request.organisation.domains.filter(verified=True)
    return render(
        request,
        "dashboard/package.html",
        {
            "package": package,
            "rules": [{"rule": rule, "commands": commands_for(rule)} for rule in rules],
            "history": _history(package),
            "try_form": TryRequestForm(domains, initial=first_request(rules)),
            "backends": backends_of(package),
            "downloads": package_overview(
                request.organisation.id, package.key, datetime.now(UTC).date()
            ),
            "public": _public_stats(request, package),
        },
    )


def _public_stats(request, package: Package) -> dict:
    """Where anyone sees the package's download count once published, and
    under which count figures read "< k"."""
    where = [request.organisation.slug, package.key]
    return {
        "badge": request.build_absolute_uri(reverse("public-badge", args=where)),
        "page": request.build_absolute_uri(reverse("public-package", args=where)),
        "threshold": settings.PUBLIC_STATS_MIN_COUNT,
    }


@require_POST
@role_required(MANAGE)
def package_public_stats(request, package_id: int):
    """Publish the package's download count (a badge and a public page), or stop."""
    package = _package(request, package_id)
    form = PublicStatsForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["public_stats"][0])
    else:
        public = form.cleaned_data["public_stats"] == "on"
        services.update_package(package, actor(request), public_stats=public)
        state = "Anyone can now see" if public else "Only members see"
        messages.success(request, f"{state} the download count of {package.name}.")
    return redirect("package", package.id)


def _rule(request, rule_id: int) -> Rule:
    return get_object_or_404(
        Rule.objects.select_related("domain", "package"),
        id=rule_id,
        domain__organisation=request.organisation,
    )


@sees_and_changes(MANAGE)
@recent_authentication_required
def rule_edit(request, rule_id: int):
    """Change a rule's backend: the first POST shows what changes, the second
    (`confirm`) saves it, live from then on."""
    rule = _rule(request, rule_id)
    kind = KIND_BY_TYPE[rule.type]
    before = rule.manifest_form()
    form = RuleForm(kind, None, request.POST or None, base=before, initial=initial_of(kind, before))
    changes = []
    if request.method == "POST" and form.is_valid():
        after = parse_rule(form.manifest_form()).to_manifest()
        changes = [c for c in compare(parse_rule(before).to_manifest(), after) if c.changed]
        if "confirm" in request.POST:
            try:
                services.update_rule(rule, actor(request), _changes_of(before, after))
            except services.Rejected as rejected:
                for field, message in rejected.errors:
                    form.add_rejection(field, message)
            else:
                messages.success(request, "Saved; the gateway uses the new backend now.")
                return redirect("package", rule.package_id)
    return render(
        request,
        "dashboard/rule_edit.html",
        {"rule": rule, "form": form, "changes": changes, "previewed": bool(changes)},
    )


def _changes_of(before: dict, after: dict) -> dict:
    """What `update_rule` takes: changed fields, None for removed ones."""
    return {key: after.get(key) for key in set(before) | set(after)}


@role_required(MANAGE)
def rule_delete(request, rule_id: int):
    rule = _rule(request, rule_id)
    return confirm_deletion(
        request,
        subject=f"the {rule.get_type_display()} rule of {rule.package.name} on {rule.domain}",
        consequence=(
            "Requests it answers stop being served at once. The package and its other "
            "rules stay, and its history can restore this rule."
        ),
        delete=lambda: services.delete_rule(rule, actor(request)),
        cancel=reverse("package", args=[rule.package_id]),
        done=reverse("package", args=[rule.package_id]),
        message=f"Deleted the rule; {rule.package.name} no longer serves through it.",
    )


@role_required(MANAGE)
def package_delete(request, package_id: int):
    package = _package(request, package_id)
    rules = package.rules.count()
    going = {0: "It has no rules.", 1: "Its rule goes with it: downloads through it stop at once."}
    return confirm_deletion(
        request,
        subject=f"the package {package.name}",
        consequence=(
            going.get(rules, f"Its {rules} rules go with it: downloads through them stop at once.")
            + " Counted downloads stay in analytics, and the audit log can restore it."
        ),
        delete=lambda: services.delete_package(package, actor(request)),
        cancel=reverse("package", args=[package.id]),
        done=reverse("home"),
        message=f"Deleted {package.name}; the audit log can restore it.",
    )


@role_required(READ)
def revision_detail(request, revision_id: int):
    """What a revision changed: every field of its object before and after,
    or, for one as large as an import of thousands of rules, the changed
    fields only; a page at a time."""
    revision = get_object_or_404(
        Revision.objects.select_related("reverts"),
        id=revision_id,
        organisation=request.organisation,
    )
    changes = compare(revision.before, revision.after)
    changed = [change for change in changes if change.changed]
    shown = changes if len(changes) <= CONTEXT_FIELDS else changed
    page = Paginator(shown, FIELDS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/revision.html",
        {
            "revision": revision,
            "changes": page.object_list,
            "page": page,
            "changed": len(changed),
            "unchanged_hidden": len(changes) - len(shown),
        },
    )


CONTEXT_FIELDS = 500  # up to this many fields, the unchanged ones are shown too
FIELDS_PER_PAGE = 200


@require_POST
@role_required(MANAGE)
@recent_authentication_required
def rollback(request, revision_id: int):
    revision = get_object_or_404(Revision, id=revision_id, organisation=request.organisation)
    try:
        services.rollback(revision, actor(request))
    except services.Rejected as rejected:
        messages.error(request, f"Could not roll back: {rejected}")
    else:
        messages.success(request, f"Rolled back “{revision}”.")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("audit-log")


@role_required(READ)
def try_request(request):
    """What the gateway would answer to a request (nothing is sent)."""
    form = TryRequestForm(request.organisation.domains.filter(verified=True), request.GET)
    report = None
    if form.is_valid():
        headers = [("User-Agent", form.cleaned_data["user_agent"])]
        data = form.cleaned_data
        report = resolve_request(data["domain"].hostname, data["method"], data["path"], headers)
        if report is None:
            raise Http404("That domain is not served yet")
    template = "dashboard/_try_result.html" if is_htmx(request) else "dashboard/try.html"
    return render(request, template, {"try_form": form, "report": report})
