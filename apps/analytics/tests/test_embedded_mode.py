"""Embedded mode (SQLite, no Redis, no worker): a download is stored and
counted in the database before its response is sent."""

import http.client

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


def test_a_download_is_stored_and_rolled_up_before_the_response(embedded_server):
    embedded_server.manage("shell", "-c", OPERATOR)
    imported = embedded_server.manage(
        "import_manifest",
        *("--org", "acme", "--create-org", "--owner", "ops@example.com"),
        str(MANIFESTS / "every-rule-type.json"),
    )
    assert imported.returncode == 0, imported.stderr
    embedded_server.start()

    for downloads in (1, 2, 3):
        connection = http.client.HTTPConnection("127.0.0.1", embedded_server.port, timeout=10)
        connection.request("GET", "/cli/3.1/cli.tgz", headers={"Host": "get.acme.test"})
        assert connection.getresponse().status == 307
        connection.close()
        counted = embedded_server.manage("shell", "-c", COUNTS)
        assert counted.stdout.split()[-2:] == [str(downloads)] * 2, counted.stderr
