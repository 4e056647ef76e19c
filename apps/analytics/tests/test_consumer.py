"""The consumer's batches run without the cyclic garbage collector, which is
back on after each batch, stored or failed."""

import gc

import pytest
from django.db import OperationalError

from apps.analytics import consumer as consumer_module
from apps.analytics.consumer import GROUP
from apps.analytics.events import EVENTS_STREAM
from apps.analytics.models import DownloadEvent

from .conftest import add_to_stream, consumer, make_event


@pytest.fixture
def collector_seen_while_storing(monkeypatch) -> list[bool]:
    """Whether the cyclic collector was on each time a batch was stored."""
    seen = []
    store_events = consumer_module.store_events

    def spying(events):
        seen.append(gc.isenabled())
        return store_events(events)

    monkeypatch.setattr(consumer_module, "store_events", spying)
    return seen


@pytest.mark.django_db
def test_batches_are_stored_without_the_cyclic_collector_which_is_back_on_after(
    redis_db, collector_seen_while_storing
):
    add_to_stream(redis_db, [make_event() for _ in range(3)])

    assert consumer(redis_db, batch_size=2).run(seconds=10) == 3

    assert collector_seen_while_storing == [False, False]
    assert gc.isenabled()
    assert DownloadEvent.objects.count() == 3


@pytest.mark.django_db
def test_the_cyclic_collector_is_back_on_when_storing_a_batch_fails(redis_db, monkeypatch):
    add_to_stream(redis_db, [make_event()])

    def failing(events):
        assert not gc.isenabled()
        raise OperationalError("the database went away")

    monkeypatch.setattr(consumer_module, "store_events", failing)

    with pytest.raises(OperationalError):
        consumer(redis_db).run(seconds=10)

    assert gc.isenabled()
    assert redis_db.xpending(EVENTS_STREAM, GROUP)["pending"] == 1
