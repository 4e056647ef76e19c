"""The shape users deploy, from the runtime lock alone (issue #14).

A venv built only from requirements.txt (hashes required, nothing from the dev
lock) runs the production server, a Celery worker and beat, as docker-compose
runs them, against PostgreSQL and Redis; a maintainer signs up through the form,
makes a token in the dashboard, creates a rule through the API, downloads are
made through the gateway and counted by the analytics API, and the endpoints
that queue work (a migration check, a webhook test) get it done. Then the
broker stops: saved changes still answer as saved, and their work runs once it
is back."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import threading
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.webhooks.tests.conftest import Receiver
from scarf.ports import free_port
from scarf.testing import (
    BASE_DIR,
    Celery,
    RedisServer,
    eventually,
    stop_process,
    wait_until_serving,
)

pytestmark = pytest.mark.slow

DASHBOARD = "localhost"
SIGNUP = {"email": "ada@example.com", "password": "correct horse battery", "organisation": "Ada"}
PATH = "/cli/1.0/cli.tgz"


class Deployment:
    """web (`python -m scarf.serving`), worker and beat, from one venv, on one
    database, with the broker on a Redis of its own so that it can be stopped alone."""

    def __init__(self, python: Path, database_url: str, tmp_path: Path):
        self.python, self.tmp_path = python, tmp_path
        self.redis = RedisServer(tmp_path).start()
        self.broker = RedisServer(tmp_path).start()
        self.port = free_port()
        self.env = {
            "PATH": f"{python.parent}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "scarf.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": self.redis.url,
            "CELERY_BROKER_URL": self.broker.url,
            "SECRET_KEY": "deployed-shape-" + "k3y" * 20,
            "ALLOWED_HOSTS": "*",
            "DASHBOARD_HOSTS": DASHBOARD,
            "VAR_DIR": str(tmp_path / "var"),
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "2",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(tmp_path / "mail"),
            "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
            "ANALYTICS_INGEST_INTERVAL": "0.5",
            "OUTBOX_RELAY_AFTER": "1",
            "OUTBOX_RELAY_INTERVAL": "1",
            "DNS_RESOLVERS": "127.0.0.1:9",
        }
        self.web: subprocess.Popen | None = None
        self.celery = Celery(python, self.env, tmp_path)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.python), *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def start(self) -> Deployment:
        migrated = self.run("manage.py", "migrate", "--noinput")
        assert migrated.returncode == 0, migrated.stderr
        with open(self.tmp_path / "web.log", "wb") as log:
            self.web = subprocess.Popen(
                [str(self.python), "-m", "scarf.serving"],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.celery.start()
        wait_until_serving(f"http://127.0.0.1:{self.port}/healthz", self.web)
        return self

    def alive(self) -> dict[str, bool]:
        processes = {"web": self.web, **self.celery.processes}
        return {name: process.poll() is None for name, process in processes.items()}

    def logs(self) -> str:
        web = (self.tmp_path / "web.log").read_text(errors="replace")[-3000:]
        return f"---- web\n{web}\n{self.celery.logs()}"

    def stop(self) -> None:
        stop_process(self.web, timeout=15)
        self.celery.stop()
        self.redis.stop()
        self.broker.stop()


class Browser:
    """A maintainer's browser on the dashboard host: cookies, CSRF tokens, forms."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None, host=DASHBOARD):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(
            method, path, body=body, headers={"Host": host, "Cookie": cookie, **(headers or {})}
        )
        response = connection.getresponse()
        content = response.read()
        connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return response.status, response.headers, content

    def submit(self, path: str, fields: dict) -> tuple[int, str, str]:
        """Open the page with the form, then post it; returns (status, Location, body)."""
        status, _, page = self.request("GET", path)
        assert status == 200, page[:500]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.decode(), **fields})
        status, headers, content = self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        return status, headers.get("Location", ""), content.decode()


class Api:
    def __init__(self, port: int, token: str):
        self.port, self.token = port, token

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request(
            method,
            "/api/v1/" + path,
            json.dumps(body) if body is not None else None,
            {
                "Host": DASHBOARD,
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
            },
        )
        response = connection.getresponse()
        content = response.read()
        connection.close()
        try:
            return response.status, json.loads(content or b"{}")
        except ValueError:  # an error page
            return response.status, {"page": content[:500].decode(errors="replace")}


def gateway_get(port: int, host: str, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Host": host, "User-Agent": "curl/8.5.0"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.headers.get("Location", "")


def file_server(root: Path) -> str:
    """A real HTTP server for a backend's files."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def deployment(runtime_python, fresh_postgres_url, tmp_path):
    started = Deployment(runtime_python, fresh_postgres_url, tmp_path)
    try:
        yield started.start()
    finally:
        started.stop()


@pytest.fixture
def backends(tmp_path):
    """Two backends holding the same file: the rule's and a migration's target."""
    urls = []
    for name in ("old", "new"):
        (tmp_path / name / "1.0").mkdir(parents=True)
        (tmp_path / name / "1.0" / "cli.tgz").write_bytes(b"the same bytes")
        urls.append(file_server(tmp_path / name))
    return urls


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.stop()


def sign_up_and_make_a_token(deployment: Deployment) -> tuple[Browser, Api]:
    browser = Browser(deployment.port)
    status, location, body = browser.submit("/accounts/signup/", SIGNUP)
    assert (status, location) == (302, "/"), body[:1000]
    status, _, page = browser.submit("/organisation/tokens/", {"name": "ci", "scope": "write"})
    assert status == 200
    secret = re.search(r'<code id="token-secret">([^<]+)</code>', page).group(1)
    return browser, Api(deployment.port, secret)


def test_the_runtime_lock_alone_runs_the_whole_product(deployment, backends, receiver):
    old, new = backends
    _browser, api = sign_up_and_make_a_token(deployment)
    _, organisations = api.call("GET", "organisations/")
    domain = organisations["results"][0]["default_domain"]

    status, rule = api.call(
        "POST",
        "rules/",
        {
            "type": "file-v1",
            "domain": domain,
            "package-id": "cli",
            "incoming-path": "/cli/{version}/{file}",
            "outgoing-url": old + "/{version}/{file}",
        },
    )
    assert status == 201, rule
    assert eventually(lambda: gateway_get(deployment.port, domain, PATH)[0] == 307, 10)
    for _ in range(2):
        assert gateway_get(deployment.port, domain, PATH) == (307, old + "/1.0/cli.tgz")

    downloads = eventually(
        lambda: api.call("GET", "analytics/totals/")[1].get("downloads") == 3,
        what="three downloads counted by the worker",
    )
    assert downloads

    status, check = api.call(
        "POST",
        "migration-checks/",
        {"rule": rule["id"], "new": {"outgoing-url": new + "/{version}/{file}"}, "paths": [PATH]},
    )
    assert (status, check["status"]) == (201, "pending"), check
    finished = eventually(
        lambda: (
            api.call("GET", f"migration-checks/{check['id']}/")[1]["status"]
            not in ("pending", "running")
        ),
        what="the migration check run by the worker",
    )
    assert finished
    assert api.call("GET", f"migration-checks/{check['id']}/")[1]["status"] == "clean"

    status, webhook = api.call(
        "POST", "webhooks/", {"url": receiver.url, "events": ["backend.health_changed"]}
    )
    assert status == 201, webhook
    status, _ = api.call("POST", f"webhooks/{webhook['id']}/test/")
    assert status == 201
    eventually(lambda: len(receiver.requests) == 1, what="the test event delivered")

    assert list((deployment.tmp_path / "mail").iterdir()), "the welcome e-mail was sent"
    assert deployment.alive() == {"web": True, "worker": True, "beat": True}, deployment.logs()


def test_changes_saved_while_the_broker_is_down_answer_and_their_work_runs_later(
    deployment, receiver
):
    _browser, api = sign_up_and_make_a_token(deployment)
    _, webhook = api.call(
        "POST", "webhooks/", {"url": receiver.url, "events": ["backend.health_changed"]}
    )

    deployment.broker.stop()
    queued_status, delivery = api.call("POST", f"webhooks/{webhook['id']}/test/")
    signed_up = Browser(deployment.port).submit(
        "/accounts/signup/", {**SIGNUP, "email": "grace@example.com"}
    )
    assert receiver.requests == []
    deployment.broker.start()

    assert queued_status == 201, delivery
    assert signed_up[:2] == (302, "/"), signed_up[2][:1000]
    eventually(lambda: len(receiver.requests) == 1, what="the delivery sent by the relay")
    mails = eventually(
        lambda: (
            [p.read_text() for p in (deployment.tmp_path / "mail").iterdir()]
            if (deployment.tmp_path / "mail").exists()
            else []
        ),
    )
    assert any("grace@example.com" in mail for mail in mails)
    assert deployment.alive() == {"web": True, "worker": True, "beat": True}, deployment.logs()


def test_every_module_of_the_product_imports_in_the_runtime_venv(runtime_python, tmp_path):
    """Code only some paths reach (transports, optional features) must import too."""
    modules = sorted(
        ".".join(path.relative_to(BASE_DIR).with_suffix("").parts).removesuffix(".__init__")
        for top in ("apps", "scarf")
        for path in (BASE_DIR / top).rglob("*.py")
        if "tests" not in path.parts
        and path.stem.isidentifier()  # not a config file such as gunicorn.conf.py
        and path.name not in {"testing.py", "settings_test.py"}
    )
    script = (
        "import importlib, django; django.setup()\n"
        "import kombu.transport.redis, celery.backends.redis\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "scarf.settings",
        "SECRET_KEY": "import-check-" + "k" * 40,
        "VAR_DIR": str(tmp_path),
    }
    imported = subprocess.run(
        [str(runtime_python), "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )

    assert imported.returncode == 0, imported.stderr
    assert len(modules) > 100
