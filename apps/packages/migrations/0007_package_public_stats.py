from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("packages", "0006_domain_https_only")]

    operations = [
        migrations.AddField(
            model_name="package",
            name="public_stats",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "anyone may see its download count (a badge and a public page, "
                    "apps.publicstats)"
                ),
            ),
        ),
    ]
