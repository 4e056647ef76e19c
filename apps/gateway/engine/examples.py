"""A concrete request each rule answers, for the commands a package page shows
its users: variables filled with values that read as real ones (`1.2.0`,
`linux`), never a raw template or regex. Every example is checked against
the rule itself, so what the page shows is a request the gateway answers."""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parse
from dataclasses import dataclass
from urllib.parse import quote

from .docker import DockerImageRule, DockerPatternRule
from .files import CatchAllRule, FileRegexRule, FileTemplateRule, _re2_syntax
from .http import Request
from .npm import NpmRule
from .pixel import PixelRule
from .python import PythonRule, normalize_name
from .rules import FieldError, Rule
from .telemetry import TelemetryRule

DOCKER_AGENT = "docker/27.0"
PLACEHOLDERS = {
    "version": "1.2.0",
    "ver": "1.2.0",
    "v": "1.2.0",
    "tag": "1.2.0",
    "release": "1.2.0",
    "file": "example-1.2.0.tar.gz",
    "filename": "example-1.2.0.tar.gz",
    "os": "linux",
    "platform": "linux",
    "arch": "amd64",
    "architecture": "amd64",
}


@dataclass(frozen=True)
class Example:
    """One request: method, path (with query) and User-Agent (or None)."""

    method: str
    target: str
    user_agent: str | None = None

    def request(self, host: str) -> Request:
        path, mark, query = self.target.partition("?")
        headers = (("user-agent", self.user_agent),) if self.user_agent else ()
        return Request(self.method, host, path, query if mark else None, headers)


def placeholder(name: str) -> str:
    """A value for a variable that reads as one (`example` when unknown)."""
    lowered = name.lower()
    for key, value in PLACEHOLDERS.items():
        if lowered == key or lowered.endswith(("_" + key, "-" + key)):
            return value
    return "example"


def check_answerable(rule: Rule) -> None:
    """Rule.check_answerable, and for a regex rule: refused when the paths
    made up from the regex are answered by none, as with `[a-z]*` (its match
    at the start of a path is empty, which does not count) or `/dl/^`. A
    regex the example maker cannot read (RE2-only syntax) is not judged."""
    rule.check_answerable()
    if (
        isinstance(rule, FileRegexRule)
        and regex_paths(rule.incoming_path.strip())
        and example_request(rule) is None
    ):
        raise FieldError(
            "incoming-path",
            "incoming-path matches no request path (an empty match does not count, and "
            "^ and $ anchor to the whole path): make it match at least one character "
            "of a path such as /dl/1.2.0",
        )


def example_request(rule: Rule) -> Example | None:
    """A request `rule` answers (checked with the rule), or None when none
    could be made up (a regex this cannot invent a path for)."""
    for example in _candidates(rule):
        if rule.match(example.request(rule.domain)) is not None:
            return example
    return None


def _candidates(rule: Rule) -> list[Example]:
    match rule:
        case DockerImageRule():
            return [_docker(rule.repository_name)]
        case DockerPatternRule():
            return [_docker(image) for image in _pattern_images(rule.pattern.text)]
        case PythonRule():
            names = dict.fromkeys((normalize_name(rule.package_name), rule.package_name))
            return [Example("GET", f"/simple/{name}/") for name in names]
        case NpmRule():
            name = rule.package_name.replace("/*", "/example")
            return [Example("GET", "/" + quote(name, safe="@").replace("%2F", "%2f"))]
        case FileTemplateRule():
            values = [{n: placeholder(n) for n in rule.defined_variables()}]
            values.append(dict.fromkeys(rule.defined_variables(), "example"))
            paths = [rule.incoming_for(v) or "" for v in values]
            return [Example("GET", p if p.startswith("/") else "/" + p) for p in paths]
        case FileRegexRule():
            paths = dict.fromkeys(regex_paths(rule.incoming_path.strip()))
            return [Example("GET", path) for path in paths]
        case TelemetryRule():
            return [Example("POST", "/" + rule.incoming_path.lstrip("/"))]
        case PixelRule():
            return [Example("GET", rule.incoming_path)]
        case CatchAllRule():
            return [Example("GET", "/")]
    return []


def _docker(image: str) -> Example:
    return Example("GET", f"/v2/{image}/manifests/latest", DOCKER_AGENT)


def _pattern_images(text: str) -> list[str]:
    """Image names a docker-v2 pattern may match: each `{a,b}` as its first
    alternative, each `*` as `example` (or nothing)."""
    first = text
    while (simpler := re.sub(r"\{([^{},]*)(?:,[^{}]*)?\}", r"\1", first)) != first:
        first = simpler
    first = re.sub(r"\\(.)", r"\1", first)
    return [first.replace("*", "example"), first.replace("*", "")]


def regex_paths(source: str) -> list[str]:
    """Paths a file-v2 regex finds a match in: named groups filled with
    placeholders, or the shortest text each piece accepts."""
    try:
        parsed = sre_parse.parse(_re2_syntax(source)[0])
    except (re.error, RecursionError, OverflowError):
        return []
    names = {index: name for name, index in parsed.state.groupdict.items()}
    paths = []
    for named, at_least_once in ((True, False), (False, False), (True, True), (False, True)):
        try:
            text = _text(parsed, names if named else {}, at_least_once)
        except (ValueError, RecursionError):
            continue
        paths.append(text if text.startswith("/") else "/" + text)
    return paths


_CATEGORY_TEXT = {
    sre.CATEGORY_DIGIT: "1",
    sre.CATEGORY_NOT_DIGIT: "a",
    sre.CATEGORY_WORD: "a",
    sre.CATEGORY_NOT_WORD: "-",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_SPACE: "a",
}


def _text(pattern, names: dict[int, str], at_least_once: bool) -> str:
    """Text `pattern` accepts: each repeat its fewest times (`at_least_once`:
    once at least, so an optional piece is there)."""
    pieces = []
    for op, value in pattern:
        if op is sre.LITERAL:
            pieces.append(chr(value))
        elif op is sre.NOT_LITERAL:
            pieces.append("a" if value != ord("a") else "b")
        elif op is sre.ANY:
            pieces.append("a")
        elif op is sre.IN:
            pieces.append(_member(value))
        elif op is sre.BRANCH:
            pieces.append(_text(value[1][0], names, at_least_once))
        elif op is sre.SUBPATTERN:
            group, _add, _del, inner = value
            pieces.append(
                placeholder(names[group]) if group in names else _text(inner, names, at_least_once)
            )
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, _high, inner = value
            pieces.append(_text(inner, names, at_least_once) * max(low, at_least_once))
        elif op is sre.CATEGORY:
            pieces.append(_CATEGORY_TEXT.get(value, "a"))
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue
        else:
            raise ValueError(f"cannot invent text for {op}")
    return "".join(pieces)


def _member(items) -> str:
    """A character of a character class (a negated one: a letter or digit outside it)."""
    if items and items[0][0] is sre.NEGATE:
        excluded = re.compile(f"[^{''.join(_escaped(item) for item in items[1:])}]")
        return next((c for c in "a0-_.~" if excluded.fullmatch(c)), "a")
    op, value = items[0]
    if op is sre.LITERAL:
        return chr(value)
    if op is sre.RANGE:
        return chr(value[0])
    return _CATEGORY_TEXT.get(value, "a")


def _escaped(item) -> str:
    op, value = item
    if op is sre.LITERAL:
        return re.escape(chr(value))
    if op is sre.RANGE:
        return f"{re.escape(chr(value[0]))}-{re.escape(chr(value[1]))}"
    return {sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_WORD: r"\w", sre.CATEGORY_SPACE: r"\s"}.get(
        value, ""
    )
