"""Organisations created before default domains existed get theirs, verified."""

from django.conf import settings
from django.db import migrations

from apps.packages.models import HOSTNAME_RE, new_verification_token


def create_default_domains(apps, schema_editor):
    Organisation = apps.get_model("accounts", "Organisation")
    Domain = apps.get_model("packages", "Domain")
    for organisation in Organisation.objects.all():
        hostname = f"{organisation.slug}.{settings.GATEWAY_BASE_DOMAIN}"
        if HOSTNAME_RE.match(hostname) and not Domain.objects.filter(hostname=hostname).exists():
            Domain.objects.create(
                organisation=organisation,
                hostname=hostname,
                verified=True,
                verification_token=new_verification_token(),
            )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_api_tokens_and_invitations"),
        ("packages", "0003_domain_verification_times_and_revisions"),
    ]

    operations = [migrations.RunPython(create_default_domains, migrations.RunPython.noop)]
