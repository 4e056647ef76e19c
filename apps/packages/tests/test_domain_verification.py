"""A claimed domain serves traffic only after its TXT record is seen, checked
against a real DNS server on loopback; default domains need no record."""

import pytest

from apps.accounts.models import Organisation
from apps.packages import services
from apps.packages.models import Domain, Revision
from apps.packages.tasks import verify_pending_domains


@pytest.fixture
def acme(db):
    return Organisation.objects.create(name="Acme", slug="acme")


@pytest.fixture
def claimed(acme):
    return services.claim_domain(acme, services.SYSTEM, "Get.Acme.Dev")


def test_a_claimed_domain_waits_for_verification_and_names_its_record(claimed):
    assert claimed.hostname == "get.acme.dev"
    assert not claimed.verified
    assert claimed.challenge_name == "_gateway-challenge.get.acme.dev"
    assert len(claimed.verification_token) >= 32


def test_the_record_holding_the_token_verifies_the_domain(claimed, dns_server):
    dns_server.txt[claimed.challenge_name] = ["unrelated", claimed.verification_token]

    assert services.verify_domain(claimed)

    claimed.refresh_from_db()
    assert claimed.verified
    assert claimed.verified_at is not None
    revision = Revision.objects.get(object_type="domain", action=Revision.VERIFY)
    assert (revision.before["verified"], revision.after["verified"]) == (False, True)


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("_gateway-challenge.get.acme.dev", ["wrong-token"]),
        ("_gateway-challenge.get.acme.dev", []),
        ("get.acme.dev", ["{token}"]),  # the record must be at the challenge name
        ("_other-challenge.get.acme.dev", ["{token}"]),
    ],
    ids=["wrong value", "no value", "at the host itself", "for another service"],
)
def test_a_wrong_or_missing_record_leaves_the_domain_unverified(claimed, dns_server, name, values):
    dns_server.txt[name] = [v.format(token=claimed.verification_token) for v in values]

    assert not services.verify_domain(claimed)

    claimed.refresh_from_db()
    assert not claimed.verified
    assert claimed.checked is not None
    assert not Revision.objects.filter(action=Revision.VERIFY).exists()


def test_an_unreachable_resolver_leaves_the_domain_unverified(claimed, settings):
    settings.DNS_RESOLVERS = ["127.0.0.1:9"]
    settings.DNS_TIMEOUT = 0.5

    assert not services.verify_domain(claimed)


def test_the_challenge_service_name_is_a_setting(claimed, dns_server, settings):
    settings.DOMAIN_CHALLENGE_SERVICE = "pkg"
    dns_server.txt["_pkg-challenge.get.acme.dev"] = [claimed.verification_token]

    assert services.verify_domain(claimed)


@pytest.mark.slow
def test_the_periodic_task_verifies_pending_domains_through_a_real_worker(
    celery_worker, dns_server, settings
):
    acme = Organisation.objects.create(name="Acme", slug="acme")
    ready = services.claim_domain(acme, services.SYSTEM, "get.acme.dev")
    waiting = services.claim_domain(acme, services.SYSTEM, "later.acme.dev")
    dns_server.txt[ready.challenge_name] = [ready.verification_token]

    assert verify_pending_domains.delay().get(timeout=30) == 1

    assert Domain.objects.get(id=ready.id).verified
    assert not Domain.objects.get(id=waiting.id).verified
    assert "verify-pending-domains" in settings.CELERY_BEAT_SCHEDULE


def test_every_new_organisation_gets_its_default_domain_verified(acme, settings):
    domain = Domain.objects.get(organisation=acme)

    assert domain.hostname == "acme.gateway.localhost"
    assert domain.verified
    assert domain.is_default


def test_the_default_domain_follows_the_base_domain_setting(db, settings):
    settings.GATEWAY_BASE_DOMAIN = "pkgs.example.net"

    organisation = Organisation.objects.create(name="Globex", slug="globex")

    assert organisation.domains.get().hostname == "globex.pkgs.example.net"


def test_the_default_domain_cannot_be_removed(acme):
    with pytest.raises(services.Rejected):
        services.delete_domain(Domain.objects.get(organisation=acme), services.SYSTEM)


def test_a_hostname_belongs_to_one_organisation_only(claimed):
    globex = Organisation.objects.create(name="Globex", slug="globex")

    with pytest.raises(services.Rejected) as refused:
        services.claim_domain(globex, services.SYSTEM, "get.acme.dev")

    assert refused.value.errors[0][0] == "hostname"
    assert Domain.objects.get(hostname="get.acme.dev").organisation.slug == "acme"


def test_names_under_the_base_domain_are_reserved(acme):
    with pytest.raises(services.Rejected):
        services.claim_domain(acme, services.SYSTEM, "globex.gateway.localhost")
