import re
from datetime import UTC, datetime

import pytest

from apps.dashboard.tests.conftest import acme, count_downloads, globex  # noqa: F401 - shared
from apps.packages.models import Package


@pytest.fixture
def published(acme):  # noqa: F811
    """Acme's cli package, its stats published, with `downloads` today."""

    def publish(downloads: int = 0, **fields) -> Package:
        Package.objects.filter(organisation=acme, key="cli").update(public_stats=True, **fields)
        if downloads:
            count_downloads(acme, "cli", datetime.now(UTC).date(), downloads)
        return Package.objects.get(organisation=acme, key="cli")

    return publish


def same_page(one, other) -> bool:
    """Whether two answers are the same but for their CSRF tokens."""
    token = re.compile(rb'"X-CSRFToken": "[^"]*"')
    return one.status_code == other.status_code and token.sub(b"", one.content) == token.sub(
        b"", other.content
    )
