"""A running server picks up changes within one second, with and without Redis."""

import sqlite3
import threading
import time
import urllib.request

import pytest

from apps.gateway.tests.conftest import MANIFESTS
from apps.packages.manifests import import_manifest
from apps.packages.models import Rule

pytestmark = pytest.mark.slow

OPERATOR = (
    "from apps.accounts.models import User; "
    "User.objects.create_user('ops@example.com', 'correct horse battery')"
)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def location(server, host, path):
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(server.url + path, headers={"Host": host})
    try:
        response = opener.open(request, timeout=10)
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location")
    return response.status, response.headers.get("Location")


def test_an_orm_change_is_served_by_a_running_server_within_a_second(
    gateway_server, acme, every_rule_type
):
    import_manifest(acme, every_rule_type, verify_domains=True)
    gateway_server.start()
    assert location(gateway_server, "get.acme.test", "/install.sh") == (
        307,
        "https://raw.example.com/acme/install.sh",
    )

    rule = Rule.objects.get(type="file-v1", config__contains={"incoming-path": "/install.sh"})
    rule.config = {**rule.config, "outgoing-url": "https://mirror.example.net/install.sh"}
    rule.save()
    time.sleep(1.0)

    assert location(gateway_server, "get.acme.test", "/install.sh") == (
        307,
        "https://mirror.example.net/install.sh",
    )


def test_an_import_into_a_running_embedded_server_is_served_within_a_second(embedded_server):
    embedded_server.start()
    assert location(embedded_server, "get.acme.test", "/install.sh") == (404, None)

    embedded_server.manage("shell", "-c", OPERATOR)
    result = embedded_server.manage(
        "import_manifest",
        str(MANIFESTS / "every-rule-type.json"),
        *("--org", "acme", "--create-org", "--owner", "ops@example.com"),
    )
    assert result.returncode == 0, result.stderr
    time.sleep(1.0)

    assert location(embedded_server, "get.acme.test", "/install.sh") == (
        307,
        "https://raw.example.com/acme/install.sh",
    )


def test_on_sqlite_an_import_waits_for_another_writer_and_stays_all_or_nothing(
    embedded_server, tmp_path
):
    embedded_server.manage("shell", "-c", OPERATOR)
    other = sqlite3.connect(tmp_path / "var" / "db.sqlite3", check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another writer, e.g. the dashboard saving a rule
    other.execute("UPDATE accounts_user SET last_login = NULL")
    threading.Timer(2.0, other.commit).start()

    result = embedded_server.manage(
        "import_manifest",
        str(MANIFESTS / "every-rule-type.json"),
        *("--org", "acme", "--create-org", "--owner", "ops@example.com"),
    )
    other.close()

    assert result.returncode == 0, result.stderr
    assert "imported 10 rules" in result.stdout
