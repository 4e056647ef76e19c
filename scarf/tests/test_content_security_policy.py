"""The dashboard's Content-Security-Policy (scarf/csp.py): every page Django
serves carries it, it allows no inline script and no eval, and no page
needs them: no inline <script>, no on* handler, no inline style, no
javascript: URL. In a real browser the pages run under it without a single
violation, and the organisation menu (whose script used to be inline) works."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import NoReverseMatch, reverse

from apps.accounts.models import Organisation, User
from apps.gateway.tests.conftest import load_manifest
from apps.packages.manifests import import_manifest
from apps.packages.models import Package, Rule

pytestmark = pytest.mark.django_db

DATA_TYPES = {"application/json", "application/ld+json"}
EVAL_ATTRIBUTES = ("hx-vars", "hx-vals", "data-hx-vars", "data-hx-vals")


def directives(policy: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (directive.split() for directive in policy.split(";") if directive)
    }


class InlineCode(HTMLParser):
    """Collects everything in a page that a policy without 'unsafe-inline' blocks."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes and attributes.get("type") not in DATA_TYPES:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith(("on", "hx-on", "data-hx-on")):
                self.found.append(f"{name}= on <{tag}>")
            elif name == "style":
                self.found.append(f"style= on <{tag}>")
            elif value.startswith("javascript:"):
                self.found.append(f"javascript: URL in {name}= on <{tag}>")
            elif name in EVAL_ATTRIBUTES and value.startswith(("js:", "javascript:")):
                self.found.append(f"evaluated {name}= on <{tag}>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def ada():
    return User.objects.create_user("ada@example.com", "correct horse battery")


@pytest.fixture
def signed_in(client, ada):
    organisation = Organisation.create_for(ada, "Acme")
    Organisation.create_for(ada, "Beta")  # so the organisation menu shows
    import_manifest(organisation, load_manifest("every-rule-type.json"), verify_domains=True)
    client.force_login(ada)
    return client


def dashboard_pages() -> list[str]:
    package = Package.objects.order_by("id").first()
    Package.objects.filter(id=package.id).update(public_stats=True)
    rule = Rule.objects.order_by("id").first()
    names = [
        ("public-package", (package.organisation.slug, package.key)),
        ("home", ()),
        ("package-new", ()),
        ("package", (package.id,)),
        ("rule-edit", (rule.id,)),
        ("domains", ()),
        ("analytics", ()),
        ("members", ()),
        ("tokens", ()),
        ("settings", ()),
        ("audit-log", ()),
        ("webhooks", ()),
        ("migration-checks", ()),
        ("organisations", ()),
        ("security-log", ()),
        ("mfa_index", ()),
        ("usersessions_list", ()),
        ("socialaccount_connections", ()),
    ]
    pages = []
    for name, args in names:
        try:
            pages.append(reverse(name, args=args))
        except NoReverseMatch:
            continue  # a page this checkout does not have
    return pages


def test_every_dashboard_page_has_the_policy_and_no_inline_code(signed_in):
    pages = dashboard_pages()
    found = {}
    for path in pages:
        response = signed_in.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response["Content-Security-Policy"], path
        found[path] = inline_code(response.content.decode())

    assert len(pages) >= 10
    assert {path: code for path, code in found.items() if code} == {}


@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/accounts/signup/", "/accounts/password_reset/", "/admin/login/"],
)
def test_pages_for_signed_out_people_have_the_policy_and_no_inline_code(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Security-Policy"]
    assert inline_code(response.content.decode()) == []


def test_the_policy_allows_scripts_and_styles_from_our_origin_only(client):
    policy = directives(client.get("/accounts/login/")["Content-Security-Policy"])

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


def test_api_answers_carry_the_policy_too(client):
    response = client.get("/api/v1/domains/")

    assert response.status_code == 401
    assert directives(response["Content-Security-Policy"])["script-src"] == ["'self'"]


def test_the_checker_finds_inline_code():
    """The page check above is worth something: it sees what the policy blocks."""
    page = (
        '<script>alert(1)</script><script type="application/json">{}</script>'
        '<select onchange="go()"></select><p style="color:red"></p><a href="javascript:x()">x</a>'
    )

    assert inline_code(page) == [
        "inline <script>",
        "onchange= on <select>",
        "style= on <p>",
        "javascript: URL in href= on <a>",
    ]


@pytest.mark.slow
def test_in_a_browser_the_dashboard_runs_without_violations_and_the_menu_switches(
    embedded_server,
):
    from apps.dashboard.tests.browser import ARTIFACTS, chromium_page

    server = embedded_server.start()
    violations = []
    with chromium_page(server.url, ARTIFACTS / "content-security-policy") as page:
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text and violations.append(message.text)
            ),
        )
        page.goto("/accounts/signup/")
        page.get_by_label("E-mail address").fill("ada@example.com")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_label("Organisation name").fill("Acme")
        page.get_by_role("button", name="Sign up").click()
        page.goto("/accounts/organisations/")
        page.get_by_label("Organisation name").fill("Beta")
        page.get_by_role("button", name="Create").click()
        page.get_by_text("Created Beta").wait_for()

        page.get_by_label("Organisation").select_option(label="Acme")
        page.get_by_text("Switched to Acme.").wait_for()
        page.goto("/analytics/")
        page.locator("body[data-charts-drawn]").wait_for(state="attached")

    assert violations == []
