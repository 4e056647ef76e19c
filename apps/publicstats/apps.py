from django.apps import AppConfig


class PublicStatsConfig(AppConfig):
    name = "apps.publicstats"
    label = "publicstats"
