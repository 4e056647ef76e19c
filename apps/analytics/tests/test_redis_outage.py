"""Redis unreachable while requests arrive: events wait in the local spool,
and arrive exactly once when it returns."""

import http.client
import subprocess
import time
from datetime import UTC, datetime

import pytest
import redis

from apps.analytics.events import EVENTS_STREAM, read_stream_events
from apps.analytics.models import DownloadEvent
from apps.analytics.queries import totals
from apps.analytics.spool import Spool
from apps.gateway.recording import (
    DurableWriter,
    GroupCommitter,
    RedisStreamSink,
)
from apps.packages.manifests import import_manifest
from scarf.ports import free_port
from scarf.testing import stop_process

from .conftest import consumer, make_event

N = 12


class ThrowawayRedis:
    """A redis-server of the test's own on a free port, to stop and restart."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(50):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture
def throwaway_redis():
    server = ThrowawayRedis()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.mark.slow
def test_requests_during_an_outage_are_answered_spooled_and_replayed_once(
    gateway_server,
    acme,
    every_rule_type,
    redis_db,
):
    import_manifest(acme, every_rule_type, verify_domains=True)
    gateway_server.env.update(EVENTS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    gateway_server.start()

    for _ in range(N):
        connection = http.client.HTTPConnection("127.0.0.1", gateway_server.port, timeout=10)
        connection.request("GET", "/cli/2.0/cli.tgz", headers={"Host": "get.acme.test"})
        assert connection.getresponse().status == 307
        connection.close()

    spool = Spool(gateway_server.env["VAR_DIR"] + "/spool")
    assert redis_db.xlen(EVENTS_STREAM) == 0
    assert spool.replay(RedisStreamSink(redis_db)) == N
    assert spool.replay(RedisStreamSink(redis_db)) == 0
    consumer(redis_db).run(seconds=10)
    today = datetime.now(UTC).date()
    assert DownloadEvent.objects.filter(package="cli").count() == N
    assert totals(acme.id, today, today)["downloads"] == N


def test_the_committer_replays_the_spool_once_redis_is_back(throwaway_redis, tmp_path):
    client = redis.Redis(port=throwaway_redis.port, socket_timeout=0.5, socket_connect_timeout=0.5)
    committer = GroupCommitter(DurableWriter(RedisStreamSink(client), Spool(tmp_path / "spool")))
    throwaway_redis.stop()

    for _ in range(5):
        committer.record([make_event()])
    assert committer.writer.spool.pending()

    throwaway_redis.start()
    time.sleep(1.1)  # past the retry delay
    committer.record([make_event()])

    assert len(read_stream_events(client)) == 6
    assert not committer.writer.spool.pending()
