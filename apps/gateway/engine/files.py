"""File rules: URL-template (file-v1), regex (file-v2) and catch-all redirects.

Each rule answers a request with a 307 to a backend URL or a plain 200, and
records a file capture (GATEWAY-REFERENCE §4-§6, §11). Outgoing URLs must be
absolute http(s) URLs with a literal host, so nothing a client sends can pick
the host a redirect goes to (GATEWAY-DECISIONS §2); file-v2 regexes run on
RE2, so no tenant regex can stall a worker (GATEWAY-DECISIONS §6).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, ClassVar

import re2

from .bodies import iter_json_objects
from .http import Request
from .outcome import Capture, Outcome, Redirect, Respond
from .paths import decode_segments
from .query import encode_strict, parse_query, render_query
from .rules import (
    ORDER_CATCH_ALL,
    ORDER_FILE_V1,
    ORDER_FILE_V2,
    FieldError,
    Rule,
    check_port,
    optional_str,
    required_str,
)
from .uritemplate import UriTemplate, compile_re2, parse_template

MAX_BODY_BYTES = 256
MAX_BODY_EVENTS = 10

# `http(s)://` and a literal host (name or IP literal) with an optional port.
_HTTP_ORIGIN = re.compile(
    r"https?://(?:[A-Za-z0-9][A-Za-z0-9.-]*+|\[[0-9A-Fa-f:.]++\])(?::(?P<port>[0-9]{1,5}))?+",
    re.IGNORECASE,
)
_PATH_PREFIX = re.compile(r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*+)?+")
_DELIMITERS = ("/", "?", "#")

# An absolute URI as RFC 3986 (and the reference's URI parser) accepts it;
# possessive quantifiers keep the check linear on any input.
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_ABSOLUTE_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.\-]*+:"
    rf"(?://(?:{_PCHAR}|\[[0-9A-Fa-f:.]*+\])*+(?:/{_PCHAR}*+)*+|(?:{_PCHAR}|/)*+)"
    rf"(?:\?(?:{_PCHAR}|[/?])*+)?+(?:#(?:{_PCHAR}|[/?])*+)?+"
)
_SCHEME = re.compile(r"[^/?#]*:")

# PCRE's named groups, rewritten to the `(?P<name>` form RE2 reads.
_NAMED_GROUP = re.compile(r"\(\?(?:P?<(?P<angle>[A-Za-z_]\w*)>|'(?P<quote>[A-Za-z_]\w*)')")


def rewrite_query(target: str, raw_query: str | None) -> str:
    """Forward the request's query to a redirect target (reference §4.5).

    Target parameters come first and win; each key is kept once, at its first
    occurrence; everything is re-encoded strictly. A target that is not an
    absolute URI is returned unchanged (and the query is lost), as upstream.
    """
    request_items = parse_query(raw_query)
    if not request_items or not _ABSOLUTE_URI.fullmatch(target):
        return target
    before_fragment, hash_mark, fragment = target.partition("#")
    base, _, target_query = before_fragment.partition("?")
    merged: dict[str, str | None] = {}
    for key, value in parse_query(target_query) + request_items:
        merged.setdefault(key, value)
    return f"{base}?{render_query(list(merged.items()))}{hash_mark}{fragment}"


def parse_outgoing_url(text: str) -> UriTemplate:
    """Parse an outgoing URL template whose scheme and host are literal.

    Accepted: a literal `http(s)://host[:port]` followed by `/`, `?` or `#`
    (or by an expression that always starts with one of them, `{/x}`, `{?x}`,
    `{#x}`), or a whole literal absolute URL. Raises FieldError("outgoing-url").
    """
    try:
        template = parse_template(text, matching=False)
    except ValueError as error:
        raise FieldError("outgoing-url", str(error)) from error
    tokens = template.tokens
    head = tokens[0] if tokens and isinstance(tokens[0], str) else ""
    origin = _HTTP_ORIGIN.match(head)
    if origin is None:
        raise FieldError("outgoing-url", "must start with http:// or https:// and a literal host")
    check_port(origin["port"], "outgoing-url")
    rest = head[origin.end() :]
    following = tokens[1] if head and len(tokens) > 1 else None
    delimited = rest.startswith(_DELIMITERS) or (
        not rest and (following is None or following.operator.prefix in _DELIMITERS)
    )
    if not delimited:
        raise FieldError(
            "outgoing-url", "the host must be followed by '/', '?' or '#' before any variable"
        )
    return template


def compile_regex(source: str) -> re2._Regexp:
    """Compile a file-v2 `incoming-path` (PCRE syntax) with RE2.

    Surrounding whitespace is trimmed, as upstream; `(?<n>...)`, `(?P<n>...)`
    and `(?'n'...)` all name a group. Raises FieldError("incoming-path").
    """
    pattern, names = _re2_syntax(source.strip())
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise FieldError("incoming-path", f"group name {duplicates[0]!r} is used twice")
    try:
        return compile_re2(pattern)
    except re2.error as error:
        reason = error.args[0] if error.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise FieldError(
            "incoming-path", f"incoming-path is not a valid regular expression: {reason}"
        ) from error


def _re2_syntax(pattern: str) -> tuple[str, list[str]]:
    """Rewrite PCRE group names for RE2, skipping escapes and character classes."""
    pieces: list[str] = []
    names: list[str] = []
    position, in_class = 0, False
    while position < len(pattern):
        char = pattern[position]
        named = None if in_class or char != "(" else _NAMED_GROUP.match(pattern, position)
        if char == "\\":
            pieces.append(pattern[position : position + 2])
            position += 2
            continue
        if named:
            name = named["angle"] or named["quote"]
            names.append(name)
            pieces.append(f"(?P<{name}>")
            position = named.end()
            continue
        if in_class and pattern.startswith("[:", position):
            closer = pattern.find(":]", position + 2)
            end = len(pattern) if closer < 0 else closer + 2
            pieces.append(pattern[position:end])
            position = end
            continue
        if char == "[" and not in_class:
            in_class = True
            closer = position + 1 + (pattern[position + 1 : position + 2] == "^")
            if pattern[closer : closer + 1] == "]":
                pieces.append(pattern[position : closer + 1])
                position = closer + 1
                continue
        elif char == "]":
            in_class = False
        pieces.append(char)
        position += 1
    return "".join(pieces), names


def _file_outcome(
    rule: _FileRule | CatchAllRule,
    location: str | None,
    variables: Mapping[str, str],
    events: tuple[Mapping[str, Any], ...] = ({},),
) -> Outcome:
    """A 307 to `location` (or a 200 without one) and one capture per event."""
    captures = tuple(
        Capture(
            kind="file",
            package=rule.package_id,
            fields={
                "absolute_url": location,
                "variables": dict(variables),
                "body_variables": event,
            },
        )
        for event in events
    )
    response = Respond(200) if location is None else Redirect(location)
    return Outcome(response, captures, rule_type=rule.type, rule_ref=rule.ref)


def _body_events(request: Request) -> tuple[Mapping[str, Any], ...]:
    """The JSON objects at the start of the body (§4.6), or one empty event."""
    objects = islice(iter_json_objects(request.read_body(MAX_BODY_BYTES)), MAX_BODY_EVENTS)
    return tuple(objects) or ({},)


@dataclass(frozen=True)
class _FileRule(Rule):
    """What file-v1 and file-v2 share: the manifest fields and the outgoing URL.

    `outgoing_url` None means "record the request and answer 200".
    """

    incoming_path: str
    package_id: str
    outgoing_url: str | None = None
    package_name: str | None = None
    owner: str | None = None
    _outgoing: UriTemplate | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        outgoing = None if self.outgoing_url is None else parse_outgoing_url(self.outgoing_url)
        object.__setattr__(self, "_outgoing", outgoing)

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> _FileRule:
        return cls(
            domain=required_str(data, "domain"),
            incoming_path=required_str(data, "incoming-path"),
            outgoing_url=optional_str(data, "outgoing-url"),
            package_id=required_str(data, "package-id"),
            package_name=optional_str(data, "package-name"),
            owner=optional_str(data, "owner"),
        )

    def manifest_fields(self) -> dict[str, Any]:
        return {
            "incoming-path": self.incoming_path,
            "outgoing-url": self.outgoing_url,
            "package-id": self.package_id,
            "package-name": self.package_name,
            "owner": self.owner,
        }

    def check_answerable(self) -> None:
        """The outgoing URL may use only variables the incoming path defines:
        a request never binds another, so the rule would never redirect."""
        if self._outgoing is None:
            return
        defined = self.defined_variables()
        for name in self._outgoing.variables:
            if name not in defined:
                known = ", ".join(f"{{{n}}}" for n in defined) or "none"
                raise FieldError(
                    "outgoing-url",
                    f"outgoing-url uses {{{name}}}, which incoming-path does not define "
                    f"(it defines {known})",
                )

    def defined_variables(self) -> tuple[str, ...]:
        raise NotImplementedError

    def outgoing_for(self, variables: Mapping[str, str]) -> str | None:
        """The outgoing URL for `variables` (None: none, or one is missing);
        what a health check asks the backend for."""
        return None if self._outgoing is None else self._outgoing.expand(variables)

    def _redirect_to(self, variables: Mapping[str, str], request: Request) -> str | None:
        """The expanded outgoing URL with the query forwarded, or None when a
        variable it needs was not captured."""
        assert self._outgoing is not None
        expanded = self._outgoing.expand(variables)
        return None if expanded is None else rewrite_query(expanded, request.raw_query)


@dataclass(frozen=True)
class FileTemplateRule(_FileRule):
    """file-v1: `incoming-path` is an RFC 6570 template matched against the
    raw path (and the raw query when the template captures it)."""

    type: ClassVar[str] = "file-v1"
    order: ClassVar[int] = ORDER_FILE_V1

    _incoming: UriTemplate = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        try:
            incoming = parse_template(self.incoming_path)
        except ValueError as error:
            raise FieldError("incoming-path", str(error)) from error
        object.__setattr__(self, "_incoming", incoming)
        super().__post_init__()

    def defined_variables(self) -> tuple[str, ...]:
        return self._incoming.variables

    def incoming_for(self, variables: Mapping[str, str]) -> str | None:
        """The incoming path template expanded with `variables`."""
        return self._incoming.expand(variables)

    def check_answerable(self) -> None:
        """A request path starts with `/`: so must what the incoming path
        matches. `{x*}` (explode) never matches anything."""
        first = self._incoming.tokens[0] if self._incoming.tokens else ""
        if isinstance(first, str):
            starts_right = first.startswith("/")
        else:
            prefix = first.operator.prefix
            starts_right = prefix == "/" or (first.operator.reserved and not prefix)
        if not starts_right:
            raise FieldError(
                "incoming-path",
                "incoming-path must start with / (request paths do), e.g. /"
                + self.incoming_path.lstrip("/"),
            )
        for token in self._incoming.tokens:
            for variable in getattr(token, "variables", ()):
                if variable.explode:
                    raise FieldError(
                        "incoming-path",
                        f"incoming-path's {{{variable.name}*}} never matches: "
                        "explode (*) is for outgoing URLs",
                    )
        super().check_answerable()

    def sort_key(self) -> tuple:
        """Literal specificity (§3.3): sorting the keys ascending gives the
        reference's descending order of the template's literal segments."""
        literal = self._incoming.expand(dict.fromkeys(self._incoming.variables, "")) or ""
        segments = [piece for piece in literal.split("/") if piece]
        return (*(_descending(segment) for segment in segments), (1,))

    def match(self, request: Request) -> Outcome | None:
        """The decision procedure of §4.4."""
        captures_query = self._incoming.captures_query
        subject = request.raw_target if captures_query else request.raw_path
        variables = self._incoming.match(subject) if self._incoming.variables else None
        if variables:
            if self._outgoing is None:
                return self._answer(request, None, variables)
            location = self._redirect_to(variables, request)
            return None if location is None else self._answer(request, location, variables)
        if self._incoming.variables or not self._literal_matches(request):
            return None
        if self._outgoing is None:
            return self._answer(request, None, {})
        location = self._redirect_to({}, request)
        return None if location is None else self._answer(request, location, {})

    def _literal_matches(self, request: Request) -> bool:
        """Path-and-query validation for a template without variables: the
        path is equal, and each query pair of the template is in the request
        (any order, extras allowed)."""
        literal = self._incoming.expand({}) or ""
        if _SCHEME.match(literal):
            return False
        path, _, query = literal.partition("#")[0].partition("?")
        if path != request.raw_path:
            return False
        wanted = dict(parse_query(query))
        given = dict(parse_query(request.raw_query))
        return all(key in given and given[key] == value for key, value in wanted.items())

    def _answer(
        self, request: Request, location: str | None, variables: Mapping[str, str]
    ) -> Outcome:
        return _file_outcome(self, location, variables, _body_events(request))


def _descending(segment: str) -> tuple[int, ...]:
    """A key that sorts strings in reverse: a longer string with the same
    start sorts first, as it is greater."""
    return (*(-ord(char) for char in segment), 1)


@dataclass(frozen=True)
class FileRegexRule(_FileRule):
    """file-v2: `incoming-path` is a regex searched (unanchored) in the raw
    path; its named groups are the variables, not percent-decoded."""

    type: ClassVar[str] = "file-v2"
    order: ClassVar[int] = ORDER_FILE_V2

    _regex: re2._Regexp = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_regex", compile_regex(self.incoming_path))
        super().__post_init__()

    def defined_variables(self) -> tuple[str, ...]:
        return tuple(self._regex.groupindex)

    def sort_key(self) -> tuple:
        return (self.incoming_path,)

    def match(self, request: Request) -> Outcome | None:
        """The decision procedure of §5."""
        variables = self._search(request.raw_path)
        if variables is None:
            return None
        if self._outgoing is None:
            return _file_outcome(self, None, variables)
        location = self._redirect_to(variables, request)
        if location is None:
            return None
        return _file_outcome(self, location, variables)

    def _search(self, raw_path: str) -> dict[str, str] | None:
        """Named groups of the first match, as PCRE reports them: a group
        that did not take part is "" when a later group did, else absent.

        An empty match counts as none (PCRE's "not empty" flag; unlike PCRE,
        no other, non-empty match is then looked for).
        """
        subject = raw_path.encode("utf-8", "surrogatepass")
        found = self._regex.search(subject)
        if found is None or found.end() == found.start():
            return None
        taking_part = [g for g in range(1, self._regex.groups + 1) if found.start(g) >= 0]
        last = max(taking_part, default=0)
        return {
            name: (found.group(index) or b"").decode("utf-8", "replace")
            for name, index in self._regex.groupindex.items()
            if index <= last
        }


@dataclass(frozen=True)
class CatchAllRule(Rule):
    """catch-all-v1: every request on the domain is redirected to the same
    path on `redirect-target-domain`, or answered 200 when there is none."""

    type: ClassVar[str] = "catch-all-v1"
    order: ClassVar[int] = ORDER_CATCH_ALL

    package_id: str
    redirect_target_domain: str | None = None
    package_name: str | None = None
    owner: str | None = None

    def __post_init__(self):
        target = self.redirect_target_domain
        if target is None:
            return
        origin = _HTTP_ORIGIN.match(f"https://{target}")
        if origin is None or not _PATH_PREFIX.fullmatch(f"https://{target}", origin.end()):
            raise FieldError(
                "redirect-target-domain",
                "must be a host name, optionally with a port and a path prefix",
            )
        check_port(origin["port"], "redirect-target-domain")

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> CatchAllRule:
        return cls(
            domain=required_str(data, "domain"),
            package_id=required_str(data, "package-id"),
            redirect_target_domain=optional_str(data, "redirect-target-domain"),
            package_name=optional_str(data, "package-name"),
            owner=optional_str(data, "owner"),
        )

    def manifest_fields(self) -> dict[str, Any]:
        return {
            "package-id": self.package_id,
            "redirect-target-domain": self.redirect_target_domain,
            "package-name": self.package_name,
            "owner": self.owner,
        }

    def match(self, request: Request) -> Outcome:
        """Always answers (§6): each decoded segment and the query are
        re-encoded strictly, so the request cannot change the host."""
        if self.redirect_target_domain is None:
            return _file_outcome(self, None, {})
        path = "".join(f"/{encode_strict(s)}" for s in decode_segments(request.raw_path))
        items = parse_query(request.raw_query)
        query = f"?{render_query(items)}" if items else ""
        location = f"https://{self.redirect_target_domain}{path}{query}"
        return _file_outcome(self, location, {})
