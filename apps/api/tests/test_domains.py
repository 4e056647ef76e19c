"""Claiming and verifying domains through the API."""

from apps.packages.models import Domain


def test_claiming_a_domain_answers_the_txt_record_to_create(api, acme):
    response = api.post("/api/v1/domains/", {"hostname": "dl.acme.dev"}, format="json")

    assert response.status_code == 201
    body = response.json()
    domain = Domain.objects.get(hostname="dl.acme.dev", organisation=acme)
    assert body["verified"] is False
    assert body["challenge"] == {
        "type": "TXT",
        "name": "_gateway-challenge.dl.acme.dev",
        "value": domain.verification_token,
    }


def test_the_verify_action_checks_dns_now(api, acme, dns_server):
    claimed = api.post("/api/v1/domains/", {"hostname": "dl.acme.dev"}, format="json").json()
    verify = f"/api/v1/domains/{claimed['id']}/verify/"

    assert api.post(verify).json()["verified"] is False

    dns_server.txt[claimed["challenge"]["name"]] = [claimed["challenge"]["value"]]
    response = api.post(verify)

    assert response.status_code == 200
    assert response.json()["verified"] is True
    assert Domain.objects.get(id=claimed["id"]).verified


def test_the_default_domain_is_listed_verified(api, acme):
    listed = api.get("/api/v1/domains/").json()["results"]

    default = [d for d in listed if d["default"]]
    assert [(d["hostname"], d["verified"]) for d in default] == [("acme.gateway.localhost", True)]


def test_deleting_a_domain_releases_it_and_its_rules(api, acme):
    domain = Domain.objects.get(hostname="www.acme.test")

    assert api.delete(f"/api/v1/domains/{domain.id}/").status_code == 204

    assert not Domain.objects.filter(hostname="www.acme.test").exists()
    assert acme.revisions.get(action="delete", object_type="domain").before["rules"]


def test_the_default_domain_cannot_be_deleted(api, acme):
    default = Domain.objects.get(hostname="acme.gateway.localhost")

    response = api.delete(f"/api/v1/domains/{default.id}/")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "hostname"
    assert Domain.objects.filter(id=default.id).exists()


def test_an_unverified_claim_expires_and_gives_way_to_another_organisation(api, acme, settings):
    from datetime import timedelta

    from django.utils import timezone

    from apps.accounts.models import Organisation
    from apps.packages.models import Domain, Revision

    globex = Organisation.objects.create(name="Globex", slug="globex")
    stale = Domain.objects.create(organisation=globex, hostname="get.shared.test")
    old = timezone.now() - timedelta(seconds=settings.DOMAIN_CLAIM_EXPIRY + 60)
    Domain.objects.filter(id=stale.id).update(created=old)

    response = api.post("/api/v1/domains/", {"hostname": "get.shared.test"}, format="json")

    assert response.status_code == 201
    assert Domain.objects.get(hostname="get.shared.test").organisation == acme
    assert Revision.objects.get(organisation=globex, action="delete").object_id == stale.id


def test_a_recent_or_verified_claim_still_blocks_another_organisation(api, acme):
    from apps.accounts.models import Organisation
    from apps.packages.models import Domain

    globex = Organisation.objects.create(name="Globex", slug="globex")
    Domain.objects.create(organisation=globex, hostname="new.shared.test")
    Domain.objects.create(organisation=globex, hostname="mine.shared.test", verified=True)

    for hostname in ("new.shared.test", "mine.shared.test"):
        response = api.post("/api/v1/domains/", {"hostname": hostname}, format="json")
        assert response.status_code == 400
        assert "is already claimed" in response.json()["errors"][0]["message"]


def test_https_only_is_changed_with_patch_and_recorded(api, acme):
    domain = Domain.objects.get(hostname="www.acme.test")

    response = api.patch(f"/api/v1/domains/{domain.id}/", {"https_only": True}, format="json")

    assert response.status_code == 200
    assert response.json()["https_only"] is True
    revision = acme.revisions.get(action="update", object_type="domain")
    assert (revision.before["https_only"], revision.after["https_only"]) == (False, True)


def test_a_domains_host_name_cannot_change(api, acme):
    domain = Domain.objects.get(hostname="www.acme.test")

    response = api.patch(
        f"/api/v1/domains/{domain.id}/", {"hostname": "x.acme.test"}, format="json"
    )

    assert response.status_code == 400
    assert Domain.objects.filter(hostname="www.acme.test").exists()


def test_rolling_back_https_only_turns_it_off_again(api, acme):
    domain = Domain.objects.get(hostname="www.acme.test")
    api.patch(f"/api/v1/domains/{domain.id}/", {"https_only": True}, format="json")
    revision = acme.revisions.get(action="update", object_type="domain")

    assert api.post(f"/api/v1/revisions/{revision.id}/rollback/").status_code in (200, 201)

    domain.refresh_from_db()
    assert not domain.https_only
