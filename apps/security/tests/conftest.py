from apps.dashboard.tests.conftest import acme, signed_in  # noqa: F401 - the dashboard's fixtures
