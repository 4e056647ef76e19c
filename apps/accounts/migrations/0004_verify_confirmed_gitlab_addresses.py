"""Accounts created by signing in with GitLab before the adapter kept its
address as verified (adapters._keep_verified): allauth recorded GitLab's
address as unverified, as GitLab's API has no such flag, so these people
cannot add a second factor. The address counts as verified when GitLab said
the account is confirmed (`confirmed_at`), as it does for new accounts."""

from django.db import migrations


def verify(apps, schema_editor):
    SocialAccount = apps.get_model("socialaccount", "SocialAccount")
    EmailAddress = apps.get_model("account", "EmailAddress")
    for account in SocialAccount.objects.filter(provider="gitlab"):
        email = account.extra_data.get("email")
        if email and account.extra_data.get("confirmed_at"):
            EmailAddress.objects.filter(user_id=account.user_id, email__iexact=email).update(
                verified=True
            )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_organisation_require_two_factor"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("socialaccount", "0006_alter_socialaccount_extra_data"),
    ]

    operations = [migrations.RunPython(verify, migrations.RunPython.noop, elidable=False)]
