from django.apps import AppConfig


class MigrationChecksConfig(AppConfig):
    name = "apps.migration_checks"
    label = "migration_checks"
    verbose_name = "Verified backend migrations"
