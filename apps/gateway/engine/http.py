"""The request as the engine sees it: raw bytes-level facts, nothing parsed yet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


def no_body(limit: int) -> bytes:
    return b""


def first_header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    """The first value of header `name` (lower-case) in `headers`, or None."""
    for key, value in headers:
        if key == name:
            return value
    return None


@dataclass(frozen=True)
class Request:
    """One incoming request.

    `raw_path` is the request-target before `?`, exactly as sent (still
    percent-encoded). `raw_query` is what follows the first `?` (without it),
    or None when the target has no `?` at all. Header names are lower-case;
    a header sent on several lines appears several times, in order.
    `read_body(limit)` returns at most `limit` bytes of the body. `scheme` and
    `authority` (the host with the port the client used, when it named one) are
    how the client reached us, for URLs that point back here.
    """

    method: str
    host: str
    raw_path: str
    raw_query: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    read_body: Callable[[int], bytes] = field(default=no_body, compare=False, repr=False)
    client_ip: str = ""
    scheme: str = "https"
    authority: str = ""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (lower-case), or None."""
        return first_header(self.headers, name)

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def origin(self) -> str:
        """`scheme://host[:port]` of this gateway domain, as the client reached it."""
        return f"{self.scheme}://{self.authority or self.host}"

    @property
    def raw_target(self) -> str:
        if self.raw_query is None:
            return self.raw_path
        return f"{self.raw_path}?{self.raw_query}"
