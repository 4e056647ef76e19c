"""Issue #9's fault-injection suite (bench/faults.py), in its short version.

Under a steady load of real requests through the gateway in its production
configuration (gunicorn, several worker processes), on a PostgreSQL cluster
and a redis-server of the test's own: Redis is paused and restarted, the
Celery worker is killed mid-batch, PostgreSQL is restarted, a gateway worker
is killed. After each, every request answered with a redirect has exactly one
raw event and the rollups count exactly the raw events; no request gets a
5xx, and only requests in flight on the killed gateway worker may fail, as a
dropped connection. `make faults` runs the longer version.
"""

import pytest

from bench import faults


@pytest.mark.slow
def test_every_answered_download_is_counted_exactly_once_whatever_fails():
    rows = faults.run(faults.Options.short())
    report = faults.table(rows)
    print(report)

    assert [row.fault.key for row in rows] == [fault.key for fault in faults.FAULTS]
    for row in rows:
        assert row.injected.effective, report
        assert row.drained, report
        assert row.expected == row.answered > 0, report  # every answer a redirect
        assert row.lost == 0, report
        assert row.doubled == 0, report
        assert row.stored == row.expected, report
        assert row.rollups_match, report
        assert not row.http_errors, report  # never a 5xx, whatever failed
        if not row.fault.drops_connections:
            assert not row.connection_errors, report
        assert not row.problems(), report
