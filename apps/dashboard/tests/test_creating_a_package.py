from django.urls import reverse

from apps.packages.models import Revision, Rule

NEW_FILE = reverse("package-new") + "?type=file-v1"
FILE = {
    "domain": "acme.gateway.localhost",
    "package_id": "tool",
    "package_name": "Acme tool",
    "incoming_path": "/tool/{version}/{file}",
    "outgoing_url": "https://github.com/acme/tool/releases/download/v{version}/{file}",
}


def test_it_offers_every_kind_of_package(signed_in):
    page = signed_in("admin").get(reverse("package-new")).content.decode()

    for kind in ("Docker image", "Docker image pattern", "Python file", "npm package", "Pixel"):
        assert kind in page


def test_the_form_is_titled_with_the_kinds_name_as_written(signed_in):
    page = signed_in("admin").get(NEW_FILE).content.decode()

    assert "<h1>New package: File (URL template)</h1>" in page


def test_it_creates_a_package_with_its_rule_and_a_revision(signed_in, acme):
    response = signed_in("admin").post(NEW_FILE, FILE)

    rule = Rule.objects.get(package__organisation=acme, package__key="tool")
    assert response.status_code == 302
    assert response["Location"] == reverse("package", args=[rule.package_id])
    assert rule.config["outgoing-url"] == FILE["outgoing_url"]
    assert Revision.objects.filter(organisation=acme, object_type="rule", object_id=rule.id)


def test_it_shows_the_engines_error_next_to_the_field(signed_in, acme):
    response = signed_in("admin").post(NEW_FILE, {**FILE, "outgoing_url": "ftp://nope"})

    assert response.status_code == 200
    assert response.context["form"].errors["outgoing_url"]
    assert not acme.packages.filter(key="tool").exists()


def test_it_validates_live_without_saving(signed_in, acme):
    response = signed_in("admin").post(
        NEW_FILE, {**FILE, "outgoing_url": "ftp://nope"}, headers={"HX-Request": "true"}
    )

    page = response.content.decode()
    assert '<span id="id_outgoing_url-errors" hx-swap-oob="true">' in page
    assert "must start with http:// or https://" in page
    assert not acme.packages.filter(key="tool").exists()


def test_live_validation_leaves_fields_not_filled_in_yet_alone(signed_in, acme):
    response = signed_in("admin").post(
        NEW_FILE, {"package_id": "tool"}, headers={"HX-Request": "true"}
    )

    page = response.content.decode()
    assert "id_package_id-errors" in page
    assert "id_outgoing_url-errors" not in page
    assert "required" not in page


def test_a_valid_form_checked_live_is_not_saved_yet(signed_in, acme):
    signed_in("admin").post(NEW_FILE, FILE, headers={"HX-Request": "true"})

    assert not acme.packages.filter(key="tool").exists()


def test_a_domain_of_another_organisation_cannot_be_chosen(signed_in, acme, globex):
    response = signed_in("admin").post(NEW_FILE, {**FILE, "domain": "get.globex.test"})

    assert response.context["form"].errors["domain"]
    assert not globex.packages.filter(key="tool").exists()


def test_it_refuses_an_outgoing_url_using_a_variable_the_path_does_not_define(signed_in, acme):
    outgoing = "https://github.com/acme/tool/releases/download/v{vers}/{file}"
    response = signed_in("admin").post(NEW_FILE, {**FILE, "outgoing_url": outgoing})

    assert response.status_code == 200
    (error,) = response.context["form"].errors["outgoing_url"]
    assert error.startswith("outgoing-url uses {vers}, which incoming-path does not define")
    assert not acme.packages.filter(key="tool").exists()


def test_it_refuses_an_incoming_path_without_a_leading_slash(signed_in, acme):
    response = signed_in("admin").post(NEW_FILE, {**FILE, "incoming_path": "{version}/{file}"})

    (error,) = response.context["form"].errors["incoming_path"]
    assert error.startswith("incoming-path must start with /")
    assert not acme.packages.filter(key="tool").exists()


def test_it_refuses_a_package_id_that_would_break_the_layout(signed_in, acme):
    response = signed_in("admin").post(NEW_FILE, {**FILE, "package_id": "t" * 300})

    (error,) = response.context["form"].errors["package_id"]
    assert "at most 100 characters (300 given)" in error
    assert not acme.packages.filter(key="t" * 300).exists()


def test_a_new_package_with_an_id_that_exists_is_refused(signed_in, acme):
    client = signed_in("admin")
    client.post(NEW_FILE, FILE)
    package = acme.packages.get(key="tool")

    response = client.post(NEW_FILE, {**FILE, "incoming_path": "/other/{version}/{file}"})

    assert response.status_code == 200
    (error,) = response.context["form"].errors["package_id"]
    assert "a package with id tool exists" in error
    assert package.rules.count() == 1
