"""Headless Chromium (Debian's) driven by Playwright, and helpers the
end-to-end tests share: a signed-in session, downloads sent through the
gateway, screenshots at every width and colour scheme, the
Content-Security-Policy's violations."""

from __future__ import annotations

import http.client
import time
from contextlib import contextmanager
from pathlib import Path

from scarf.testing import BASE_DIR

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = BASE_DIR / "var" / "test-artifacts" / "dashboard"


@contextmanager
def chromium():
    """A fresh headless browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page(browser, base_url: str, folder: Path, **options):
    """A page in a new context of `browser` (`options`: Playwright's context
    options, e.g. java_script_enabled=False); on a failure, a screenshot
    `failure.png` in `folder`."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 900}, **options
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    except BaseException:
        screenshot(page, "failure", folder)
        raise
    finally:
        context.close()


@contextmanager
def chromium_page(base_url: str, folder: Path):
    """A page of a fresh browser; on a failure, a screenshot `failure.png` in `folder`."""
    with chromium() as browser, browser_page(browser, base_url, folder) as page:
        yield page


def screenshot(page, name: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


WIDTHS = {"desktop": 1280, "phone": 390}
SCHEMES = ("light", "dark")

# What sticks out past the screen's right edge, outside any scrolling box.
OVERFLOWING = """() => {
  const clipped = (e) => {
    for (let p = e.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !clipped(e))
    .slice(0, 8)
    .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")
                + " " + Math.round(e.getBoundingClientRect().right) + "px");
}"""


def shoot(page, name: str, path: str, folder: Path, overflows: dict) -> None:
    """`path` at every width and scheme: screenshots `<name>-<width>-<scheme>.png`
    in `folder`, and what overflows a phone's screen into `overflows`."""
    for width_name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            page.goto(path)
            if page.locator("canvas").count():
                page.locator("body[data-charts-drawn]").wait_for(state="attached")
            screenshot(page, f"{name}-{width_name}-{scheme}", folder)
            fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            if width_name == "phone" and not fits:
                overflows[f"{name} ({scheme})"] = page.evaluate(OVERFLOWING)


def watch_the_policy(page) -> list[str]:
    """The Content-Security-Policy violations `page` reports from now on (a list that grows)."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and violations.append(message.text)
        ),
    )
    return violations


def session_cookie(user, url: str) -> dict:
    """A session of `user` as a cookie for `url` (made before the browser opens:
    Playwright's event loop bars the ORM)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {"name": name, "value": client.cookies[name].value, "url": url}


def download(server, host: str, path: str) -> tuple[int, str | None]:
    """One download through the gateway, as curl sends it: status and Location."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", path, headers={"Host": host, "User-Agent": "curl/8.5.0"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.getheader("Location")


def redirects_to(server, host: str, path: str, prefix: str, timeout: float = 15) -> bool:
    """Whether downloads go to `prefix` within `timeout` (routing is published on commit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _status, location = download(server, host, path)
        if location and location.startswith(prefix):
            return True
        time.sleep(0.3)
    return False
