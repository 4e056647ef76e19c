"""Forms of the dashboard. A rule's form is built from its type's manifest
fields; the gateway engine (`validate_rule`) validates it, as the services
do again when saving, and its errors land next to the field they name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.urls import reverse

from apps.accounts.models import ApiToken, Membership
from apps.analytics.models import AnalyticsSettings
from apps.analytics.queries import EARLIEST, LATEST, Filters, within_bounds
from apps.gateway.engine.pixel import DEFAULT_PATH as PIXEL_PATH
from apps.gateway.engine.rules import FieldError
from apps.packages.validation import DEFAULT_BACKENDS, default_backend, validate_rule


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    help: str = ""
    required: bool = True
    kind: str = "text"  # text, flag or list


@dataclass(frozen=True)
class Kind:
    """One guided choice on the "new package" page: a rule type and its fields."""

    type: str
    title: str
    summary: str
    fields: tuple[Field, ...]


PACKAGE_ID = Field("package-id", "Package id", "Stable id in analytics and exports, e.g. my-cli.")
ALWAYS_PROXY = Field(
    "always-proxy", "Always proxy", "Stream blobs through the gateway.", False, "flag"
)
INCOMING_PATH = Field("incoming-path", "Incoming path", "The path users request on your domain.")
OUTGOING_URL = Field("outgoing-url", "Outgoing URL", "Where the download is redirected.")
PACKAGE_NAME = Field("package-name", "Package name")

KINDS = [
    Kind(
        "docker-v1",
        "Docker image",
        "One container image served from a registry.",
        (
            PACKAGE_ID,
            Field("repository-name", "Repository", "Image name at the registry, e.g. acme/app."),
            Field("registry", "Registry", "Host of the backing registry, e.g. ghcr.io."),
            ALWAYS_PROXY,
        ),
    ),
    Kind(
        "docker-v2",
        "Docker image pattern",
        "Every image whose name matches a pattern.",
        (
            Field("rule-id", "Rule id", "Stable id of the pattern, e.g. tools."),
            Field("pattern", "Pattern", "Image names to serve, e.g. acme/tool-*."),
            Field("registry", "Registry", "Host of the backing registry, e.g. ghcr.io."),
            ALWAYS_PROXY,
        ),
    ),
    Kind(
        "python-v1",
        "Python file",
        "One wheel or sdist, listed in a simple index the gateway serves.",
        (
            PACKAGE_ID,
            PACKAGE_NAME,
            Field("file-name", "File name", "e.g. my_tool-1.0-py3-none-any.whl."),
            Field("version", "Version"),
            Field("backend-url", "Backend URL", "Where the file is downloaded from."),
            Field("requires-python", "Requires Python", "e.g. >=3.9", False),
        ),
    ),
    Kind(
        "python-index-v1",
        "Python package from an index",
        "Every file of a package, read from an upstream simple index.",
        (
            PACKAGE_ID,
            PACKAGE_NAME,
            Field("backend-simple-index-url", "Upstream index URL", required=False),
        ),
    ),
    Kind(
        "npm-v1",
        "npm package",
        "An npm package proxied from a registry.",
        (
            PACKAGE_ID,
            PACKAGE_NAME,
            Field("registry", "Registry URL", required=False),
        ),
    ),
    Kind(
        "file-v1",
        "File (URL template)",
        "Downloads at a path template such as /cli/{version}/{file}.",
        (
            PACKAGE_ID,
            Field("package-name", "Package name", required=False),
            INCOMING_PATH,
            OUTGOING_URL,
        ),
    ),
    Kind(
        "file-v2",
        "File (regular expression)",
        "Downloads at paths matching a regular expression with named groups.",
        (
            PACKAGE_ID,
            Field("package-name", "Package name", required=False),
            INCOMING_PATH,
            OUTGOING_URL,
        ),
    ),
    Kind(
        "catch-all-v1",
        "Catch-all",
        "Every other path on the domain, redirected to another domain.",
        (
            PACKAGE_ID,
            Field("redirect-target-domain", "Redirect to domain", "e.g. example.com.", False),
        ),
    ),
    Kind(
        "telemetry-v1",
        "Telemetry",
        "Events your software posts, counted like downloads.",
        (
            PACKAGE_ID,
            INCOMING_PATH,
            Field("access-tokens", "Access tokens", "Comma-separated; empty: open.", False, "list"),
        ),
    ),
    Kind(
        "pixel-v1",
        "Pixel",
        "A 1×1 image counting views of a page or README.",
        (PACKAGE_ID, Field("incoming-path", "Incoming path", f"Empty: {PIXEL_PATH}", False)),
    ),
]
KIND_BY_TYPE = {kind.type: kind for kind in KINDS}
KEY_FIELDS = {"package-id", "rule-id"}


def field_name(key: str) -> str:
    return key.replace("-", "_")


class RuleForm(forms.Form):
    """A rule of one type; `manifest_form()` is what the services take.

    `base` is the manifest form the fields go over: the rule being edited,
    or the type and package key of a rule added to a package. The package
    key comes from it, not from a field; without `domains` the domain does
    too."""

    def __init__(self, kind: Kind, domains, *args, base: dict[str, Any] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.base = base or {"type": kind.type}
        if domains is not None:
            self.fields["domain"] = forms.ModelChoiceField(
                domains, to_field_name="hostname", empty_label=None, label="Domain"
            )
        for field in kind.fields:
            if base is not None and field.key in KEY_FIELDS:
                continue
            self.fields[field_name(field.key)] = _form_field(field)
        if kind.type in DEFAULT_BACKENDS:
            self._say_the_default(DEFAULT_BACKENDS[kind.type][0], default_backend(kind.type))

    def _say_the_default(self, key: str, default: str) -> None:
        """A backend field left empty uses the deployment's default: say which,
        or make it required when the deployment has none."""
        field = self.fields[field_name(key)]
        if default:
            field.help_text = f"Empty: this gateway's default, {default}"
        else:
            field.required = True
            field.help_text = "Required: this gateway has no default."

    def manifest_form(self) -> dict[str, Any]:
        """The rule's manifest object: the base with this form's fields over
        it, empty ones left out."""
        form = dict(self.base)
        for field in self.kind.fields:
            name = field_name(field.key)
            if name not in self.cleaned_data:
                continue
            value = self.cleaned_data[name]
            form.pop(field.key, None)
            if field.kind == "list":
                value = [item.strip() for item in value.split(",") if item.strip()] or None
            if value not in (None, "", False):
                form[field.key] = value
        if "domain" in self.cleaned_data:
            form["domain"] = self.cleaned_data["domain"].hostname
        return form

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                validate_rule(self.manifest_form())
            except FieldError as error:
                self.add_rejection(error.field, error.reason)
        return cleaned

    def add_rejection(self, field: str | None, message: str) -> None:
        """Put an error the engine or the services reported next to its field."""
        name = field_name(field or "")
        self.add_error(name if name in self.fields else None, message)


def _form_field(field: Field) -> forms.Field:
    if field.kind == "flag":
        return forms.BooleanField(label=field.label, help_text=field.help, required=False)
    return forms.CharField(label=field.label, help_text=field.help, required=field.required)


def initial_of(kind: Kind, manifest: dict[str, Any]) -> dict[str, Any]:
    """A rule's manifest fields as a RuleForm's initial values."""
    initial = {}
    for field in kind.fields:
        value = manifest.get(field.key)
        initial[field_name(field.key)] = (
            ", ".join(value) if field.kind == "list" and value else value
        )
    return initial


class TryRequestForm(forms.Form):
    domain = forms.ModelChoiceField(None, to_field_name="hostname", empty_label=None)
    method = forms.ChoiceField(choices=[(m, m) for m in ("GET", "HEAD", "POST")])
    path = forms.CharField(initial="/", help_text="Path and query, e.g. /v2/acme/app/manifests/1.0")
    user_agent = forms.CharField(label="User agent", required=False)

    def __init__(self, domains, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = domains


class ClaimDomainForm(forms.Form):
    hostname = forms.CharField(
        label="Host name", max_length=253, help_text="e.g. get.example.com; you prove it by DNS."
    )


INTERVALS = [("hour", "Hour"), ("day", "Day"), ("week", "Week"), ("month", "Month")]
# A chart has a point per period, zeros included, each also a row of its table:
# past this many, a page would take a minute and tens of megabytes.
MAX_PERIODS = 10_000
DAYS_PER_PERIOD = {"hour": 1 / 24, "day": 1, "week": 7, "month": 28}
CI_CHOICES = [("", "CI or not"), ("true", "CI only"), ("false", "Not CI")]
BOT_CHOICES = [("false", "Left out"), ("true", "Counted")]


def is_true(value: str) -> bool:
    return value == "true"


DAY_INPUT = forms.DateInput(
    attrs={"type": "date", "min": EARLIEST.isoformat(), "max": LATEST.isoformat()}
)


class AnalyticsFilterForm(forms.Form):
    """The period, granularity, package and filters of an analytics page."""

    start = forms.DateField(widget=DAY_INPUT, validators=[within_bounds])
    end = forms.DateField(widget=DAY_INPUT, validators=[within_bounds])
    interval = forms.ChoiceField(choices=INTERVALS)
    package = forms.CharField(
        required=False,
        max_length=200,
        label="Package",
        help_text="Its id; empty: all packages",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "list": "package-suggestions",
                "autocomplete": "off",
                "placeholder": "All packages",
                "hx-trigger": "input changed delay:200ms",
                "hx-target": "#package-suggestions",
            }
        ),
    )
    version = forms.CharField(required=False, max_length=200, help_text="Exact, e.g. 1.2.0")
    client = forms.CharField(required=False, max_length=50, help_text="e.g. docker, pip, curl")
    country = forms.RegexField(
        r"^[A-Za-z]{2}$",
        required=False,
        help_text="Two-letter code, e.g. DE",
        error_messages={"invalid": "Enter a two-letter country code."},
    )
    ci = forms.TypedChoiceField(
        choices=CI_CHOICES, coerce=is_true, empty_value=None, required=False, label="CI"
    )
    include_bots = forms.TypedChoiceField(choices=BOT_CHOICES, coerce=is_true, label="Bots")

    def __init__(self, packages, count_bots: bool, query, *args, **kwargs):
        """`query` over the defaults: the last 30 days, per day, all packages,
        bots as the organisation counts them (`count_bots`)."""
        end = datetime.now(UTC).date()
        defaults = {
            "start": end - timedelta(days=29),
            "end": end,
            "interval": "day",
            "include_bots": "true" if count_bots else "false",
        }
        super().__init__({**defaults, **query.dict()}, *args, **kwargs)
        self.packages = packages
        self.fields["package"].widget.attrs["hx-get"] = reverse("analytics-packages")

    def clean_package(self) -> str:
        key = self.cleaned_data["package"].strip()
        if key and not self.packages.filter(key=key).exists():
            raise forms.ValidationError(f"No package has the id “{key}”.")
        return key

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()

    def clean(self):
        cleaned = super().clean()
        start, end, interval = (cleaned.get(name) for name in ("start", "end", "interval"))
        if start and end and start > end:
            self.add_error("start", "The start must not be after the end.")
        elif start and end and interval:
            days = (end - start).days + 1
            if days / DAYS_PER_PERIOD[interval] > MAX_PERIODS:
                self.add_error(
                    "interval",
                    f"{days:,} days by {interval} are more than the {MAX_PERIODS:,} points "
                    "a chart shows: choose a longer interval or a shorter range.",
                )
        return cleaned

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            version=data["version"] or None,
            client=data["client"] or None,
            country=data["country"] or None,
            ci=data["ci"],
        )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.ROLES, initial=Membership.MEMBER)


class PublicStatsForm(forms.Form):
    public_stats = forms.ChoiceField(
        choices=[("on", "published"), ("off", "not published")],
        error_messages={"invalid_choice": "public_stats must be on or off"},
    )


class InvitationForm(RoleForm):
    email = forms.EmailField(label="E-mail address")
    field_order = ["email", "role"]


class TokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name", "scope"]


# A century: retention computes the moment before which events go, which
# must stay a date; 0 would delete every raw event at the next run.
MAX_RETENTION_DAYS = 36_500


class AnalyticsSettingsForm(forms.ModelForm):
    retention_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_RETENTION_DAYS,
        label="Keep raw events for (days)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = settings.ANALYTICS_RETENTION_DAYS
        self.fields["retention_days"].help_text = f"Empty: this gateway's default, {default}."

    class Meta:
        model = AnalyticsSettings
        fields = [
            "retention_days",
            "count_bots",
            "collect_country",
            "collect_asn",
            "collect_referer",
        ]
        labels = {
            "count_bots": "Count bots",
            "collect_country": "Record the country",
            "collect_asn": "Record the network",
            "collect_referer": "Record the referring page",
        }
        help_texts = {
            "collect_country": "Looked up from the client IP, which is never stored.",
            "collect_asn": "The AS organisation (provider or company network) of the client IP.",
            "collect_referer": "The Referer header: which page linked to the download.",
        }


class PackageListForm(forms.Form):
    """The packages list's search box and order."""

    SORTS = [
        ("name", "Name"),
        ("downloads", "Downloads (30 days)"),
        ("last", "Last download"),
        ("kind", "Kind"),
    ]

    q = forms.CharField(required=False, max_length=200, label="Search")
    sort = forms.ChoiceField(choices=SORTS, required=False, label="Order by")

    def selection(self) -> tuple[str, str]:
        """(search text, order), the defaults when the form is invalid."""
        if not self.is_valid():
            return "", "name"
        return self.cleaned_data["q"].strip(), self.cleaned_data["sort"] or "name"


class AuditLogForm(forms.Form):
    """The audit log's filter: one package's changes."""

    package = forms.CharField(required=False, max_length=200, label="Package id")

    def package_key(self) -> str:
        """The package id asked for; empty (every change) when the form is invalid."""
        return self.cleaned_data["package"].strip() if self.is_valid() else ""
