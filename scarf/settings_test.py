"""Settings for the test suite: PostgreSQL, and one Redis database per xdist worker
so parallel workers never see each other's keys."""

import os

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_redis_server = (os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
os.environ["REDIS_URL"] = f"{_redis_server}/{1 + int(_worker.removeprefix('gw') or 0) % 15}"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scarf")
# The production shape needs a key from the environment; servers the tests start inherit it.
os.environ.setdefault("SECRET_KEY", "test-only-key-" + "x9Qv2mTz" * 6)
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# No test asks the internet's DNS: unless a test starts its own server (the
# dns_server fixture), TXT lookups go to a closed loopback port and find nothing.
os.environ.setdefault("DNS_RESOLVERS", "127.0.0.1:9")
os.environ.setdefault("DNS_TIMEOUT", "1")
# Geography only where a test installs a database (a developer's var/geo is not used).
os.environ.setdefault("ANALYTICS_COUNTRY_MMDB", "")

from .settings import *  # noqa: E402, F403
