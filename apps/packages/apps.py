from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "apps.packages"
    label = "packages"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the receivers)
