"""The production settings, as an operator sets them (HTTPS=true, a real
SECRET_KEY, DEBUG off): Django's deployment checks pass, and a real server
answers with secure cookies, HSTS, no framing and a Content-Security-Policy."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import subprocess
import sys
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from scarf.testing import BASE_DIR, Server


def production_env(tmp_path, **extra) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scarf.settings",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "VAR_DIR": str(tmp_path / "var"),
        "DEBUG": "false",
        "HTTPS": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "gateway.example.com",
        **extra,
    }


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deployment_checks_pass_with_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stderr


def test_without_https_the_deployment_checks_do_complain(tmp_path):
    """The check above is worth something: it fails on settings that are not safe."""
    result = manage(
        production_env(tmp_path, HTTPS="false"),
        "check",
        "--deploy",
        "--tag",
        "security",
        "--fail-level",
        "WARNING",
    )

    assert result.returncode != 0
    assert "security.W012" in result.stderr  # SESSION_COOKIE_SECURE


def test_the_production_shape_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")
    del env["SECRET_KEY"]

    result = manage(env, "check")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_embedded_mode_keeps_a_generated_secret_key_outside_the_code(tmp_path):
    env = production_env(tmp_path, HTTPS="false")
    del env["SECRET_KEY"]

    result = manage(env, "check")

    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "var" / "secret-key"
    assert len(key_file.read_text().strip()) >= 50
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_links_in_e_mails_point_where_make_run_serves_on_its_port(tmp_path):
    """PORT=8123 make run: an e-mail's "to undo it" link must not name port 8000."""
    env = production_env(tmp_path, HTTPS="false", PORT="8123")
    env.pop("SITE_URL", None)

    printed = "from django.conf import settings; print(settings.SITE_URL)"
    result = manage(env, "shell", "-c", printed)

    assert result.stdout.splitlines()[-1] == "http://localhost:8123", result.stderr


@pytest.fixture
def https_server(tmp_path):
    env = production_env(tmp_path, ALLOWED_HOSTS="localhost", DASHBOARD_HOSTS="localhost")
    server = Server(env, tmp_path)
    migrated = server.manage("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    created = server.manage(
        "shell",
        "-c",
        "from apps.accounts.models import User; "
        "User.objects.create_user('ada@example.com', 'correct horse battery')",
    )
    assert created.returncode == 0, created.stderr
    yield server.start()
    server.stop()


def over_tls(server, method, path, body=None, headers=None):
    """A request as the TLS-terminating proxy forwards it."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request(
        method,
        path,
        body=body,
        headers={"Host": "localhost", "X-Forwarded-Proto": "https", **(headers or {})},
    )
    response = connection.getresponse()
    content = response.read()
    connection.close()
    return response, content


def cookies_of(response) -> SimpleCookie:
    jar = SimpleCookie()
    for value in response.headers.get_all("Set-Cookie") or []:
        jar.load(value)
    return jar


@pytest.mark.slow
def test_behind_tls_the_dashboard_sends_secure_cookies_hsts_and_no_framing(https_server):
    page, content = over_tls(https_server, "GET", "/accounts/login/")
    csrf = cookies_of(page)["csrftoken"]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content).group(1).decode()
    signed_in, _ = over_tls(
        https_server,
        "POST",
        "/accounts/login/",
        body=urlencode(
            {
                "username": "ada@example.com",
                "password": "correct horse battery",
                "csrfmiddlewaretoken": token,
            }
        ),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf.value}",
            "Origin": "https://localhost",
            "Referer": "https://localhost/accounts/login/",
        },
    )
    session = cookies_of(signed_in)["sessionid"]

    assert page.status == 200
    assert page.getheader("Strict-Transport-Security") == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert page.getheader("X-Frame-Options") == "DENY"
    assert page.getheader("X-Content-Type-Options") == "nosniff"
    assert "frame-ancestors 'none'" in page.getheader("Content-Security-Policy")
    assert csrf["secure"]
    assert signed_in.status == 302
    assert session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"


@pytest.mark.slow
def test_behind_tls_a_plain_http_request_is_redirected_to_https(https_server):
    connection = http.client.HTTPConnection("127.0.0.1", https_server.port, timeout=10)
    connection.request("GET", "/accounts/login/", headers={"Host": "localhost"})
    response = connection.getresponse()
    response.read()
    connection.close()

    assert response.status == 301
    assert response.getheader("Location") == "https://localhost/accounts/login/"


def policy(env) -> str:
    shown = manage(
        env,
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.CONTENT_SECURITY_POLICY)",
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def test_forms_may_go_on_to_the_configured_forges_only(tmp_path):
    """ "Sign in with GitHub" is a form answered by a redirect to GitHub, which
    the browser checks against form-action: without the forge there, the button
    does nothing."""
    configured = production_env(
        tmp_path,
        GITHUB_CLIENT_ID="id",
        GITLAB_CLIENT_ID="id",
        GITLAB_URL="https://gitlab.example.org/",
    )

    assert "form-action 'self' https://github.com https://gitlab.example.org;" in policy(configured)
    assert "form-action 'self';" in policy(production_env(tmp_path))
