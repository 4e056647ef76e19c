import pytest


@pytest.fixture
def redis_db():
    """The engine does no I/O: its tests need no Redis (overrides the suite-wide fixture)."""
