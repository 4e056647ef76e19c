"""Embedded mode (SQLite, no Redis, no worker), served by `manage.py serve`
(our server, as `make run` runs it): a download is stored and counted in
the database before its response is sent, downloads answered together
share a transaction and none is lost, and each answer is in the access log."""

import contextlib
import http.client
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from apps.gateway.tests.conftest import MANIFESTS

pytestmark = pytest.mark.slow

OPERATOR = (
    "from apps.accounts.models import User; "
    "User.objects.create_user('ops@example.com', 'correct horse battery')"
)
COUNTS = (
    "from apps.analytics.models import DownloadEvent, Rollup; "
    "print(DownloadEvent.objects.filter(download=True).count(), "
    "Rollup.objects.get(period='day', dimension='version', value='3.1').downloads)"
)


@pytest.fixture
def serving_rules(embedded_server):
    """`manage.py serve` on SQLite with the every-rule-type manifest imported."""
    embedded_server.manage("shell", "-c", OPERATOR)
    imported = embedded_server.manage(
        "import_manifest",
        *("--org", "acme", "--create-org", "--owner", "ops@example.com"),
        str(MANIFESTS / "every-rule-type.json"),
    )
    assert imported.returncode == 0, imported.stderr
    return embedded_server.start()


def download(connection: http.client.HTTPConnection, path: str) -> tuple[int, str | None]:
    connection.request("GET", path, headers={"Host": "get.acme.test"})
    response = connection.getresponse()
    response.read()
    return response.status, response.getheader("Location")


def test_a_download_is_stored_and_rolled_up_before_the_response(serving_rules):
    for downloads in (1, 2, 3):
        connection = http.client.HTTPConnection("127.0.0.1", serving_rules.port, timeout=10)
        assert download(connection, "/cli/3.1/cli.tgz")[0] == 307
        connection.close()
        counted = serving_rules.manage("shell", "-c", COUNTS)
        assert counted.stdout.split()[-2:] == [str(downloads)] * 2, counted.stderr


def stored(server) -> tuple[list[str], int]:
    """The ids of the download events in the server's SQLite database, and
    how many events its daily totals count."""
    path = Path(server.env["VAR_DIR"]) / "db.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as database:
        events = database.execute("SELECT id FROM analytics_downloadevent")
        counted = database.execute(
            "SELECT coalesce(sum(events), 0) FROM analytics_rollup "
            "WHERE period = 'day' AND dimension = 'total'"
        )
        return [event_id for (event_id,) in events.fetchall()], counted.fetchone()[0]


def test_concurrent_downloads_are_all_stored_once_before_their_answers(serving_rules):
    clients, each = 16, 25

    def downloads(_) -> list[tuple[int, str | None]]:
        connection = http.client.HTTPConnection("127.0.0.1", serving_rules.port, timeout=30)
        try:
            return [download(connection, "/install.sh") for _ in range(each)]
        finally:
            connection.close()

    with ThreadPoolExecutor(clients) as pool:
        answers = [answer for answers in pool.map(downloads, range(clients)) for answer in answers]
    events, counted = stored(serving_rules)  # at once: every answer's event is in

    assert set(answers) == {(307, "https://raw.example.com/acme/install.sh")}
    assert len(answers) == clients * each
    assert len(events) == len(set(events)) == clients * each
    assert counted == clients * each


def test_each_answer_has_a_line_in_the_access_log_as_gunicorn_writes_it(serving_rules):
    connection = http.client.HTTPConnection("127.0.0.1", serving_rules.port, timeout=10)
    download(connection, "/install.sh")
    connection.request("GET", "/healthz", headers={"Host": "localhost", "Referer": 'a"\tb'})
    connection.getresponse().read()
    connection.close()

    # http.client sends no User-Agent; what the client sent is escaped.
    lines = [
        r'127\.0\.0\.1 - - \[[^]]+\] "GET /install\.sh HTTP/1\.1" 307 0 "-" "-"\n',
        r'127\.0\.0\.1 - - \[[^]]+\] "GET /healthz HTTP/1\.1" 200 3 "a\\"\\tb" "-"\n',
    ]
    deadline = time.monotonic() + 10  # the log is written after the answer
    while not all(re.search(line, serving_rules.output()) for line in lines):
        assert time.monotonic() < deadline, serving_rules.output()[-2000:]
        time.sleep(0.05)
