"""Every change records who made it and the state before and after; any
revision can be rolled back, and the rollback is a revision too."""

import pytest

from apps.accounts.models import ApiToken, Organisation, User
from apps.gateway.tests.conftest import load_manifest
from apps.packages import services
from apps.packages.manifests import export_manifest
from apps.packages.models import Domain, Package, Revision, Rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():
    return User.objects.create_user("ada@example.com", "correct horse battery")


@pytest.fixture
def acme(ada):
    organisation = Organisation.create_for(ada, "Acme")
    services.claim_domain(organisation, services.SYSTEM, "get.acme.test")
    services.claim_domain(organisation, services.SYSTEM, "www.acme.test")
    return organisation


@pytest.fixture
def by_ada(ada):
    return services.Actor(user=ada)


@pytest.fixture
def imported(acme, by_ada):
    services.import_manifest(acme, by_ada, load_manifest("every-rule-type.json"))
    return acme


def install_script(acme) -> Rule:
    return Rule.objects.get(domain__organisation=acme, package__key="install-script")


def test_a_change_records_who_when_and_the_rule_before_and_after(imported, by_ada):
    rule = install_script(imported)

    services.update_rule(rule, by_ada, {"outgoing-url": "https://mirror.example/i.sh"})

    revision = Revision.objects.filter(organisation=imported).first()
    assert (revision.action, revision.object_type, revision.object_id) == (
        "update",
        "rule",
        rule.id,
    )
    assert revision.user.email == "ada@example.com"
    assert revision.actor == "ada@example.com"
    assert revision.before["rule"]["outgoing-url"] == "https://raw.example.com/acme/install.sh"
    assert revision.after["rule"]["outgoing-url"] == "https://mirror.example/i.sh"


def test_a_change_by_a_token_records_the_token(imported, ada):
    token, _ = ApiToken.issue(imported, ada, name="ci", scope="write")

    services.create_package(imported, services.Actor(ada, token), "new", "New", Package.FILE)

    revision = Revision.objects.filter(organisation=imported).first()
    assert revision.token == token
    assert revision.actor == f"token ci ({token.prefix}…) of ada@example.com"


def test_rolling_back_a_rule_change_restores_it_as_a_new_revision(imported, by_ada):
    rule = install_script(imported)
    original = export_manifest(imported)
    services.update_rule(rule, by_ada, {"outgoing-url": "https://mirror.example/i.sh"})
    change = Revision.objects.filter(organisation=imported).first()

    rollback = services.rollback(change, by_ada)

    assert export_manifest(imported) == original
    assert (rollback.action, rollback.reverts) == ("rollback", change)
    assert rollback.before == change.after
    assert rollback.after == change.before


def test_a_rollback_can_itself_be_rolled_back(imported, by_ada):
    rule = install_script(imported)
    services.update_rule(rule, by_ada, {"outgoing-url": "https://mirror.example/i.sh"})
    changed = export_manifest(imported)
    rollback = services.rollback(Revision.objects.filter(organisation=imported).first(), by_ada)

    services.rollback(rollback, by_ada)

    assert export_manifest(imported) == changed


def test_rolling_back_a_deleted_rule_brings_it_back_with_its_id(imported, by_ada):
    rule = install_script(imported)
    rule_id, original = rule.id, export_manifest(imported)
    services.delete_rule(rule, by_ada)

    services.rollback(Revision.objects.filter(organisation=imported).first(), by_ada)

    assert Rule.objects.filter(id=rule_id).exists()
    assert export_manifest(imported) == original


def test_rolling_back_a_created_rule_deletes_it(imported, by_ada):
    form = {
        "type": "pixel-v1",
        "domain": "get.acme.test",
        "package-id": "px2",
        "incoming-path": "/px2.png",
    }
    rule = services.create_rule(imported, by_ada, form)

    services.rollback(Revision.objects.get(action="create", object_id=rule.id), by_ada)

    assert not Rule.objects.filter(id=rule.id).exists()


def test_rolling_back_a_deleted_package_restores_it_and_its_rules(imported, by_ada):
    package = Package.objects.get(organisation=imported, key="acme-tool")
    package_id, original = package.id, export_manifest(imported)
    services.delete_package(package, by_ada)
    assert export_manifest(imported) != original

    services.rollback(Revision.objects.filter(organisation=imported).first(), by_ada)

    assert Package.objects.get(id=package_id).key == "acme-tool"
    assert export_manifest(imported) == original


def test_rolling_back_a_rename_restores_the_name(imported, by_ada):
    package = Package.objects.get(organisation=imported, key="cli")
    services.update_package(package, by_ada, name="Renamed")

    services.rollback(Revision.objects.filter(organisation=imported).first(), by_ada)

    assert Package.objects.get(id=package.id).name == "acme-cli"


def test_rolling_back_a_deleted_domain_restores_it_unverified_with_its_rules(imported, by_ada):
    domain = Domain.objects.get(hostname="www.acme.test")
    Domain.objects.filter(id=domain.id).update(verified=True)
    original = export_manifest(imported)
    services.delete_domain(Domain.objects.get(id=domain.id), by_ada)

    services.rollback(Revision.objects.filter(organisation=imported).first(), by_ada)

    restored = Domain.objects.get(id=domain.id)
    assert export_manifest(imported) == original
    assert not restored.verified
    assert restored.verification_token == domain.verification_token


def test_a_deleted_domain_claimed_by_someone_else_cannot_be_restored(imported, by_ada):
    services.delete_domain(Domain.objects.get(hostname="www.acme.test"), by_ada)
    deletion = Revision.objects.filter(organisation=imported).first()
    globex = Organisation.objects.create(name="Globex", slug="globex")
    services.claim_domain(globex, services.SYSTEM, "www.acme.test")

    with pytest.raises(services.Rejected):
        services.rollback(deletion, by_ada)

    assert Domain.objects.get(hostname="www.acme.test").organisation == globex


def test_rolling_back_a_claim_releases_the_domain(imported, by_ada):
    claim = services.claim_domain(imported, by_ada, "new.acme.test")

    services.rollback(Revision.objects.get(action="create", object_id=claim.id), by_ada)

    assert not Domain.objects.filter(hostname="new.acme.test").exists()


def test_an_import_is_one_revision_and_rolls_back_as_one(imported, by_ada):
    original = export_manifest(imported)
    smaller = {"rules": [load_manifest("every-rule-type.json")["rules"][0]]}
    services.import_manifest(imported, by_ada, smaller)
    revision = Revision.objects.filter(organisation=imported).first()
    assert (revision.action, revision.object_type) == ("import", "manifest")
    assert len(export_manifest(imported)["rules"]) == 2

    services.rollback(revision, by_ada)

    assert export_manifest(imported) == original


def test_a_verification_cannot_be_rolled_back(imported, by_ada, dns_server):
    domain = Domain.objects.get(hostname="get.acme.test")
    dns_server.txt[domain.challenge_name] = [domain.verification_token]
    services.verify_domain(domain, by_ada)

    with pytest.raises(services.Rejected):
        services.rollback(Revision.objects.get(action="verify"), by_ada)

    assert Domain.objects.get(id=domain.id).verified


def test_a_refused_change_records_nothing(imported, by_ada):
    count = Revision.objects.count()

    with pytest.raises(services.Rejected):
        services.update_rule(install_script(imported), by_ada, {"outgoing-url": "ftp://x/y"})

    assert Revision.objects.count() == count
