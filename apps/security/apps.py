from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "apps.security"
    label = "security"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the receivers
