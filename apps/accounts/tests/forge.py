"""A local OAuth 2 provider standing in for GitHub and GitLab (the real ones
are on the internet): it speaks their authorization-code flow and the user
and e-mail endpoints allauth's providers call, for one forge user the test
chooses, who is taken to be signed in at the forge and to consent."""

from __future__ import annotations

import json
import secrets
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from scarf.ports import free_port

CLIENT_ID = "forge-client-id"
CLIENT_SECRET = "forge-client-secret"  # noqa: S105 - the stand-in's, for tests only
# A GitLab user; `confirmed_at` is what makes GitLab's address count as verified.
GRACE_AT_GITLAB = {
    "id": 9,
    "username": "grace",
    "email": "grace@example.com",
    "confirmed_at": "2024-01-02T03:04:05Z",
}


class Forge:
    def __init__(self, user: dict, emails: list[dict]):
        self.user = user
        self.emails = emails
        self.codes: set[str] = set()
        self.redirect_uris: list[str] = []  # as the product sent them, which GitHub checks
        self.tokens: set[str] = set()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Forge:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def authorize(self, query: dict) -> str:
        """Where the browser goes back to: the client's redirect URI with a code."""
        assert query["client_id"] == [CLIENT_ID]
        self.redirect_uris.append(query["redirect_uri"][0])
        code = secrets.token_urlsafe(16)
        self.codes.add(code)
        back = {"code": code, "state": query["state"][0]}
        return f"{query['redirect_uri'][0]}?{urlencode(back)}"

    def exchange(self, form: dict) -> tuple[int, dict]:
        """A code (once, by the client that knows the secret) for a token."""
        if (
            form.get("client_secret") != [CLIENT_SECRET]
            or form.get("code", [""])[0] not in self.codes
        ):
            return 400, {"error": "bad_verification_code"}
        self.codes.discard(form["code"][0])
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return 200, {"access_token": token, "token_type": "bearer", "scope": "read:user"}

    def holds(self, authorization: str, query: dict) -> bool:
        token = (
            authorization.split(" ")[-1] if authorization else query.get("access_token", [""])[0]
        )
        return token in self.tokens

    def _handler(self):
        forge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def answer(self, status: int, body, location: str = "") -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if url.path in ("/login/oauth/authorize", "/oauth/authorize"):
                    self.answer(302, {}, location=forge.authorize(query))
                elif not forge.holds(self.headers.get("Authorization", ""), query):
                    self.answer(401, {"message": "Bad credentials"})
                elif url.path in ("/api/v3/user", "/api/v4/user"):
                    self.answer(200, forge.user)
                elif url.path == "/api/v3/user/emails":
                    self.answer(200, forge.emails)
                else:
                    self.answer(404, {"message": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                if urlsplit(self.path).path in ("/login/oauth/access_token", "/oauth/token"):
                    self.answer(*forge.exchange(form))
                else:
                    self.answer(404, {"message": "Not Found"})

        return Handler


def configure_gitlab(settings, forge: Forge) -> None:
    """Point the product's GitLab sign-in at `forge` (GitLab's adapter reads the
    settings on each request, so its tests run in-process)."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "gitlab": {
            "APPS": [{"client_id": CLIENT_ID, "secret": CLIENT_SECRET}],
            "GITLAB_URL": forge.url,
        },
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def through_forge(client, to_forge):
    """Follow `to_forge` (the product's redirect to the forge) as a browser
    would: the forge sends the browser back with a code, and the product's
    answer to that is returned."""
    try:
        urllib.request.build_opener(_NoRedirects).open(to_forge["Location"])  # noqa: S310
    except urllib.error.HTTPError as redirect:
        back = redirect.headers["Location"]
    return client.get(back.removeprefix("http://testserver"))
