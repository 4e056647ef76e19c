import copy
import json

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import Organisation, User
from apps.gateway.engine.manifest import ManifestError
from apps.gateway.engine.tests.test_rules_that_could_never_answer import NEVER_ANSWERING
from apps.gateway.tests.conftest import load_manifest
from apps.packages.manifests import export_manifest, import_manifest
from apps.packages.models import Domain, Package, Rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return Organisation.objects.create(name="Acme", slug="acme")


@pytest.fixture
def manifest():
    return load_manifest("every-rule-type.json")


def test_it_creates_domains_packages_and_rules_in_manifest_order(acme, manifest):
    summary = import_manifest(acme, manifest)

    assert summary.domains == ["get.acme.test", "www.acme.test"]
    assert summary.rules == 10
    types = list(
        Rule.objects.filter(domain__hostname="get.acme.test").values_list("type", flat=True)
    )
    assert types == [rule["type"] for rule in manifest["rules"][:9]]
    assert Package.objects.get(organisation=acme, key="acme-tool").kind == Package.PYTHON
    assert Package.objects.get(organisation=acme, key="cli").name == "acme-cli"
    assert Package.objects.get(organisation=acme, key="tool-images").kind == Package.DOCKER


def test_domains_are_unverified_unless_the_operator_imports(acme, manifest):
    imported = Domain.objects.filter(hostname__endswith=".acme.test")
    import_manifest(acme, manifest)
    assert not imported.filter(verified=True).exists()

    import_manifest(acme, manifest, verify_domains=True)
    assert imported.filter(verified=True).count() == 2


def test_telemetry_tokens_are_stored_hashed(acme, manifest):
    import_manifest(acme, manifest)

    rule = Rule.objects.get(type="telemetry-v1")
    assert "s3cret-token" not in json.dumps(rule.config)
    assert rule.config["access-tokens"][0].startswith("sha256:")


def test_export_then_import_then_export_is_identical(acme, manifest):
    import_manifest(acme, manifest)
    first = export_manifest(acme)

    other = Organisation.objects.create(name="Other", slug="other")
    Domain.objects.all().delete()
    import_manifest(other, first)
    second = export_manifest(other)

    assert second == first
    assert len(first["rules"]) == 10


def test_reimporting_replaces_the_rules_of_the_domains_it_names(acme, manifest):
    import_manifest(acme, manifest)
    smaller = {"rules": [manifest["rules"][0]]}

    import_manifest(acme, smaller)

    assert Rule.objects.filter(domain__hostname="get.acme.test").count() == 1
    assert Rule.objects.filter(domain__hostname="www.acme.test").count() == 1


def problems_of(acme, document):
    with pytest.raises(ManifestError) as caught:
        import_manifest(acme, document)
    return [(p.index, p.field) for p in caught.value.problems], caught.value


def test_every_error_names_the_rule_index_and_the_field(acme, manifest):
    broken = copy.deepcopy(manifest)
    del broken["rules"][0]["registry"]
    broken["rules"][4]["incoming-path"] = "(unclosed"
    broken["rules"][2]["outgoing-url"] = "https://{host}/x"

    problems, error = problems_of(acme, broken)

    assert problems == [(0, "registry"), (2, "outgoing-url"), (4, "incoming-path")]
    assert "rules[0].registry" in str(error)


def test_an_unknown_rule_type_rejects_the_manifest_naming_the_rule(acme, manifest):
    broken = copy.deepcopy(manifest)
    broken["rules"][3]["type"] = "maven-v1"

    problems, error = problems_of(acme, broken)

    assert problems == [(3, "type")]
    assert "maven-v1" in str(error)


def test_a_bad_manifest_changes_nothing(acme, manifest):
    import_manifest(acme, {"rules": [manifest["rules"][0]]})
    before = export_manifest(acme)
    broken = copy.deepcopy(manifest)
    broken["rules"][9]["package-id"] = None

    problems_of(acme, broken)

    assert export_manifest(acme) == before
    assert not Domain.objects.filter(hostname="www.acme.test").exists()


@pytest.mark.parametrize(
    ("document", "field"),
    [({}, "rules"), ({"rules": {}}, "rules"), ([], "rules")],
)
def test_a_malformed_document_names_the_rules_key(acme, document, field):
    problems, _ = problems_of(acme, document)

    assert problems == [(None, field)]


def test_a_domain_of_another_organisation_is_refused(acme, manifest):
    other = Organisation.objects.create(name="Other", slug="other")
    Domain.objects.create(organisation=other, hostname="www.acme.test")

    problems, error = problems_of(acme, manifest)

    assert problems == [(9, "domain")]
    assert "another organisation" in str(error)
    assert not Rule.objects.exists()


@pytest.mark.parametrize("hostname", ["localhost", "UPPER_case!.test", "-bad.test", "a..b"])
def test_an_invalid_domain_is_refused(acme, hostname):
    rule = {"type": "pixel-v1", "domain": hostname, "package-id": "px"}

    problems, _ = problems_of(acme, {"rules": [rule]})

    assert problems == [(0, "domain")]


def test_the_command_creates_the_organisation_and_verifies_domains(tmp_path, manifest, capsys):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    ops = User.objects.create_user("ops@example.com", "correct horse battery")

    call_command(
        "import_manifest", str(path), "--org", "newco", "--create-org", "--owner", "OPS@example.com"
    )

    organisation = Organisation.objects.get(slug="newco")
    imported = Domain.objects.filter(organisation=organisation, hostname__endswith=".acme.test")
    assert imported.filter(verified=True).count() == 2
    assert "imported 10 rules" in capsys.readouterr().out
    assert organisation.memberships.get().user == ops
    assert organisation.memberships.get().role == "owner"


@pytest.mark.parametrize(
    ("owner", "reason"),
    [(None, "--create-org needs --owner EMAIL"), ("nobody@example.com", "sign up first")],
)
def test_the_command_creates_no_organisation_without_an_owner(tmp_path, manifest, owner, reason):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    owner_option = ("--owner", owner) if owner else ()

    with pytest.raises(CommandError, match=reason):
        call_command("import_manifest", str(path), "--org", "newco", "--create-org", *owner_option)

    assert not Organisation.objects.filter(slug="newco").exists()


def test_a_rejected_manifest_leaves_no_new_organisation_behind(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"rules": [{"type": "file-v1", "domain": "get.acme.test"}]}))
    User.objects.create_user("ops@example.com", "correct horse battery")

    with pytest.raises(CommandError, match="manifest rejected"):
        call_command(
            "import_manifest",
            str(path),
            "--org",
            "newco",
            "--create-org",
            "--owner",
            "ops@example.com",
        )

    assert not Organisation.objects.filter(slug="newco").exists()


def test_the_commands_help_names_the_owner_option(capsys):
    with pytest.raises(SystemExit):
        call_command("import_manifest", "--help")

    assert "--owner EMAIL" in capsys.readouterr().out


def test_the_command_needs_create_org_for_a_missing_organisation(tmp_path, manifest):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))

    with pytest.raises(CommandError, match="--create-org"):
        call_command("import_manifest", str(path), "--org", "missing")


def test_the_command_lists_every_problem_and_changes_nothing(tmp_path, acme):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"rules": [{"type": "docker-v1", "domain": "x.acme.test"}]}))

    with pytest.raises(CommandError) as caught:
        call_command("import_manifest", str(path), "--org", "acme")

    assert "rules[0]." in str(caught.value)
    assert not Rule.objects.exists()


def test_the_command_reports_invalid_json(tmp_path, acme):
    path = tmp_path / "manifest.json"
    path.write_text("{not json")

    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_manifest", str(path), "--org", "acme")


def test_export_command_prints_the_manifest(acme, manifest, capsys):
    import_manifest(acme, manifest)

    call_command("export_manifest", "--org", "acme")

    assert json.loads(capsys.readouterr().out) == export_manifest(acme)


@pytest.mark.parametrize(("rule", "field", "reason"), NEVER_ANSWERING)
def test_a_rule_that_could_never_answer_rejects_the_manifest(acme, manifest, rule, field, reason):
    broken = {"rules": [*manifest["rules"], rule]}

    problems, error = problems_of(acme, broken)

    assert problems == [(len(manifest["rules"]), field)]
    assert reason in str(error)
    assert not Rule.objects.exists()


def test_an_import_takes_over_another_organisations_expired_claim(acme, manifest, settings):
    from datetime import timedelta

    from django.utils import timezone

    from apps.packages import services
    from apps.packages.models import Revision

    other = Organisation.objects.create(name="Other", slug="other")
    stale = Domain.objects.create(organisation=other, hostname="www.acme.test")
    expired = timezone.now() - timedelta(seconds=settings.DOMAIN_CLAIM_EXPIRY + 60)
    Domain.objects.filter(id=stale.id).update(created=expired)

    services.import_manifest(acme, services.SYSTEM, manifest)

    assert Domain.objects.get(hostname="www.acme.test").organisation == acme
    assert Revision.objects.get(organisation=other, action="delete").object_id == stale.id


def test_a_failed_import_leaves_the_expired_claim_in_place(acme, manifest, settings):
    from datetime import timedelta

    from django.utils import timezone

    from apps.packages import services

    other = Organisation.objects.create(name="Other", slug="other")
    stale = Domain.objects.create(organisation=other, hostname="www.acme.test")
    expired = timezone.now() - timedelta(seconds=settings.DOMAIN_CLAIM_EXPIRY + 60)
    Domain.objects.filter(id=stale.id).update(created=expired)
    Domain.objects.create(organisation=other, hostname="get.acme.test")  # a live claim

    with pytest.raises(ManifestError):
        services.import_manifest(acme, services.SYSTEM, manifest)

    assert Domain.objects.get(hostname="www.acme.test").organisation == other
