"""Copy buttons beside what maintainers paste elsewhere: commands, tokens, DNS records."""

from django.urls import reverse

COPY = '<button type="button" class="copy" data-copy aria-label="Copy {}">Copy</button>'


def test_each_command_users_run_has_a_copy_button_after_it(signed_in, acme):
    package = acme.packages.get(key="cli")

    page = signed_in("member").get(reverse("package", args=[package.id])).content.decode()

    commands = page.count('<pre class="command">')
    assert commands > 0
    assert page.count("</code></pre>" + COPY.format("the command")) == commands


def test_a_new_token_can_be_copied(signed_in, acme):
    client = signed_in("owner")

    page = client.post(reverse("tokens"), {"name": "ci", "scope": "read"}).content.decode()

    assert "</code>" + COPY.format("the token") in page.split('id="token-secret"')[1]


def test_the_txt_record_to_create_can_be_copied(signed_in, acme):
    from apps.packages.models import Domain

    Domain.objects.create(organisation=acme, hostname="dl.acme.example")

    page = signed_in("owner").get(reverse("domains")).content.decode()

    assert COPY.format("the record's name") in page
    assert COPY.format("the record's value") in page
