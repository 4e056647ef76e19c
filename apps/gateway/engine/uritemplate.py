"""RFC 6570 URI templates, matched and expanded the way the reference gateway does.

The reference uses the Haskell library Burrito (GATEWAY-REFERENCE §2.4, §4). This
module reproduces its grammar, its matching semantics (anchored, first parse =
leftmost variable shortest, percent-decoding to valid UTF-8, the trailing
separator quirk, explode never binding) and its expansion (upper-case hex, `%`
always encoded, a missing variable fails the whole expansion).

A template is compiled once into an RE2 regex whose alternatives and lazy
quantifiers are ordered like Burrito's parses, so the first RE2 submatch is
Burrito's first parse, and matching stays linear in the length of the request
whatever the path.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import quote, unquote

import re2

UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
RESERVED = frozenset(":/?#[]@!$&'()*+,;=")
MAX_PREFIX = 9999
# Alternatives double with every variable of one expression; more than this
# many variables in one `{...}` is rejected rather than compiled.
MAX_EXPRESSION_VARIABLES = 8

_HEX = "0123456789ABCDEFabcdef"
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_")
_EXCLUDED_LITERALS = frozenset(" \"'%<>\\^`{|}")
_LITERAL_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0xD7FF),
    (0xE000, 0xF8FF),
    (0xF900, 0xFDCF),
    (0xFDF0, 0xFFEF),
    *((plane << 16, (plane << 16) + 0xFFFD) for plane in range(1, 14)),
    (0xE1000, 0xEFFFD),
    (0xF0000, 0xFFFFD),
    (0x100000, 0x10FFFD),
)

# One percent-encoded UTF-8 character (RFC 3629), hex digits of either case:
# a run of escapes must decode to valid UTF-8 to be captured.
_TAIL = "%[89ABab][0-9A-Fa-f]"
_ESCAPED_CHAR = "|".join(
    (
        "%[0-7][0-9A-Fa-f]",
        f"%[Cc][2-9A-Fa-f]{_TAIL}",
        f"%[Dd][0-9A-Fa-f]{_TAIL}",
        f"%[Ee]0%[ABab][0-9A-Fa-f]{_TAIL}",
        f"%[Ee][1-9A-Ca-cEeFf]{_TAIL}{_TAIL}",
        f"%[Ee][Dd]%[89][0-9A-Fa-f]{_TAIL}",
        f"%[Ff]0%[9ABab][0-9A-Fa-f]{_TAIL}{_TAIL}",
        f"%[Ff][1-3]{_TAIL}{_TAIL}{_TAIL}",
        f"%[Ff]4%8[0-9A-Fa-f]{_TAIL}{_TAIL}",
    )
)
_UNRESERVED_VALUE = rf"(?:[A-Za-z0-9\-._~]|{_ESCAPED_CHAR})*?"
_RESERVED_VALUE = rf"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|{_ESCAPED_CHAR})*?"

# RE2 reports compile errors through the exception only, never on stderr.
RE2_OPTIONS = re2.Options()
RE2_OPTIONS.log_errors = False


@lru_cache(maxsize=65536)
def compile_re2(pattern: str) -> re2._Regexp:
    """A compiled pattern, shared by every rule that uses the same one (a
    compiled RE2 costs tens of kilobytes, and thousands of domains often
    share a template; RE2 objects are immutable and safe across threads)."""
    return re2.compile(pattern, RE2_OPTIONS)


@dataclass(frozen=True)
class Operator:
    """How an expression is written: `prefix` before the first value,
    `separator` between values, `reserved` when values may keep reserved
    characters, `naming` "pair" for `name=value` (`?`, `&`), "param" for
    `name[=value]` (`;`), "" for bare values."""

    prefix: str
    separator: str
    reserved: bool = False
    naming: str = ""


OPERATORS = {
    "": Operator("", ","),
    "+": Operator("", ",", reserved=True),
    "#": Operator("#", ",", reserved=True),
    ".": Operator(".", "."),
    "/": Operator("/", "/"),
    ";": Operator(";", ";", naming="param"),
    "?": Operator("?", "&", naming="pair"),
    "&": Operator("&", "&", naming="pair"),
}


@dataclass(frozen=True)
class Variable:
    name: str
    prefix: int | None = None
    explode: bool = False


@dataclass(frozen=True)
class Expression:
    operator: Operator
    variables: tuple[Variable, ...]


# A literal token is kept in its expanded form: allowed characters and `%XX`
# escapes as written, anything else percent-encoded.
Token = str | Expression


@dataclass(frozen=True)
class _Slot:
    """What one regex group means: occurrence `index` of a variable is bound,
    and, unless `marker`, the group's text is its raw value."""

    index: int
    marker: bool = False


@dataclass(frozen=True)
class UriTemplate:
    """A parsed template. Build it with `parse_template`."""

    source: str
    tokens: tuple[Token, ...]
    captures_query: bool
    _occurrences: tuple[Variable, ...]
    _pattern: re2._Regexp | None  # None: parsed for expansion only
    _slots: tuple[tuple[int, _Slot], ...]

    @property
    def variables(self) -> tuple[str, ...]:
        """Distinct variable names, in template order."""
        return tuple(dict.fromkeys(variable.name for variable in self._occurrences))

    def expand(self, values: Mapping[str, str]) -> str | None:
        """The template with `values` substituted; None when one is missing."""
        return _expand(self.tokens, values)

    def match(self, subject: str) -> dict[str, str] | None:
        """Burrito's first parse of `subject`: the bound variables, decoded.

        None when the subject does not match; `{}` when it matches but binds
        nothing. A variable used twice must bind consistently in that parse,
        or there is no match (Burrito would go on to try later parses).
        """
        if not subject.isascii():
            return None
        found = self._pattern.fullmatch(subject)
        if found is None:
            return None
        bound: list[tuple[str, int | None] | None] = [None] * len(self._occurrences)
        for group, slot in self._slots:
            raw = found.group(group)
            if raw is None:
                continue
            if not slot.marker:
                bound[slot.index] = (unquote(raw), self._occurrences[slot.index].prefix)
            elif bound[slot.index] is None:
                bound[slot.index] = ("", None)
        return _consistent(self._occurrences, bound)


def _expand(tokens: tuple[Token, ...], values: Mapping[str, str]) -> str | None:
    pieces = []
    for token in tokens:
        if isinstance(token, str):
            pieces.append(token)
            continue
        rendered = []
        for variable in token.variables:
            value = values.get(variable.name)
            if value is None:
                return None
            rendered.append(_render(token.operator, variable, value))
        pieces.append(token.operator.prefix + token.operator.separator.join(rendered))
    return "".join(pieces)


def _render(operator: Operator, variable: Variable, value: str) -> str:
    text = _encode(value[: variable.prefix], reserved=operator.reserved)
    if operator.naming == "pair" or (operator.naming == "param" and value):
        return f"{variable.name}={text}"
    if operator.naming == "param":
        return variable.name
    return text


def _encode(value: str, *, reserved: bool) -> str:
    """UTF-8, upper-case hex; only unreserved characters (and reserved ones
    for `{+var}` and `{#var}`) stay as they are. `%` always becomes `%25`."""
    return quote(value, safe=_RESERVED_SAFE if reserved else "-._~")


_RESERVED_SAFE = "-._~" + "".join(sorted(RESERVED))

Bound = tuple[str, int | None] | None


def _consistent(occurrences: tuple[Variable, ...], bound: list[Bound]) -> dict[str, str] | None:
    """Merge the occurrences of each name as Burrito's `keepConsistent` does:
    all unbound, or equal values, or a `:N` one agreeing on N characters."""
    merged: dict[str, Bound] = {}
    for variable, value in zip(occurrences, bound, strict=True):
        if variable.name not in merged:
            merged[variable.name] = value
            continue
        combined = _combine(merged[variable.name], value)
        if combined is False:
            return None
        merged[variable.name] = combined
    return {name: value[0] for name, value in merged.items() if value is not None}


def _combine(first: Bound, other: Bound) -> Bound | bool:
    """The merged binding, or False when the two disagree."""
    if first is None or other is None:
        return first if first == other else False
    (text, limit), (other_text, other_limit) = first, other
    if limit is None and other_limit is None:
        agree, keep = text == other_text, first
    elif limit is None:
        agree, keep = text[:other_limit] == other_text, first
    elif other_limit is None:
        agree, keep = text == other_text[:limit], other
    else:
        shortest = min(limit, other_limit)
        agree = text[:shortest] == other_text[:shortest]
        keep = other if other_limit > limit else first
    return keep if agree else False


@lru_cache(maxsize=65536)
def parse_template(text: str, *, matching: bool = True) -> UriTemplate:
    """Parse `text` under Burrito's grammar; ValueError says what is wrong.

    `matching=False` is for templates that are only ever expanded (outgoing
    URLs): no regex is compiled for them, which is most of a rule's memory.
    Remembered: rules with the same template share one (it is immutable).
    """
    tokens = tuple(_Parser(text).tokens())
    occurrences = tuple(
        variable
        for token in tokens
        if isinstance(token, Expression)
        for variable in token.variables
    )
    named = _expand(tokens, {variable.name: variable.name for variable in occurrences})
    template = UriTemplate(
        source=text,
        tokens=tokens,
        captures_query=_has_query(named or ""),
        _occurrences=occurrences,
        _pattern=None,
        _slots=(),
    )
    if not matching:
        return template
    builder = _PatternBuilder()
    pattern = "".join(builder.token(token) for token in tokens)
    try:
        compiled = compile_re2(pattern)
    except re2.error as error:
        raise ValueError(f"template {text!r} is too complex to match") from error
    slots = tuple((compiled.groupindex[name], slot) for name, slot in builder.slots)
    return replace(template, _pattern=compiled, _slots=slots)


def _has_query(reference: str) -> bool:
    """Whether a URI reference has a query beyond a bare `?`."""
    before_fragment = reference.partition("#")[0]
    _, mark, query = before_fragment.partition("?")
    return bool(mark and query)


class _Parser:
    """A recursive-descent reading of Burrito's Parsec grammar."""

    def __init__(self, text: str):
        self.text = text
        self.position = 0

    def tokens(self):
        while self.position < len(self.text):
            if self.text[self.position] == "{":
                yield self.expression()
            else:
                yield self.literal()

    def fail(self, reason: str) -> ValueError:
        return ValueError(f"{reason} at position {self.position} of {self.text!r}")

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def escape(self) -> str:
        escape = self.text[self.position : self.position + 3]
        if len(escape) < 3 or escape[1] not in _HEX or escape[2] not in _HEX:
            raise self.fail("'%' must start a %XX escape")
        self.position += 3
        return escape

    def literal(self) -> str:
        pieces = []
        while (char := self.peek()) and char != "{":
            if char == "%":
                pieces.append(self.escape())
            elif _is_literal(char):
                pieces.append(char if char in UNRESERVED or char in RESERVED else quote(char))
                self.position += 1
            else:
                raise self.fail(f"character {char!r} is not allowed")
        return "".join(pieces)

    def expression(self) -> Expression:
        self.position += 1
        operator = OPERATORS[""]
        if self.peek() and self.peek() in "+#./;?&":
            operator = OPERATORS[self.peek()]
            self.position += 1
        variables = [self.variable()]
        while self.peek() == ",":
            self.position += 1
            variables.append(self.variable())
        if self.peek() != "}":
            raise self.fail("expected ',' or '}' in expression")
        self.position += 1
        if len(variables) > MAX_EXPRESSION_VARIABLES:
            raise self.fail(f"more than {MAX_EXPRESSION_VARIABLES} variables in one expression")
        return Expression(operator, tuple(variables))

    def variable(self) -> Variable:
        fields = [self.field()]
        while self.peek() == ".":
            self.position += 1
            fields.append(self.field())
        name = ".".join(fields)
        if self.peek() == "*":
            self.position += 1
            return Variable(name, explode=True)
        if self.peek() == ":":
            self.position += 1
            return Variable(name, prefix=self.prefix())
        return Variable(name)

    def field(self) -> str:
        start = self.position
        while (char := self.peek()) and (char in _NAME_CHARS or char == "%"):
            if char == "%":
                self.escape()
            else:
                self.position += 1
        if self.position == start:
            raise self.fail("expected a variable name")
        return self.text[start : self.position]

    def prefix(self) -> int:
        start = self.position
        while self.peek().isascii() and self.peek().isdigit():
            self.position += 1
        digits = self.text[start : self.position]
        if not digits or digits[0] == "0" or int(digits) > MAX_PREFIX:
            raise self.fail(f"a prefix length must be 1 to {MAX_PREFIX}")
        return int(digits)


def _is_literal(char: str) -> bool:
    if char in _EXCLUDED_LITERALS:
        return False
    code = ord(char)
    return any(low <= code <= high for low, high in _LITERAL_RANGES)


class _PatternBuilder:
    """Writes the RE2 pattern of a template.

    Burrito tries, for each variable of an expression, "bound" before
    "skipped" and values shortest first; after a bound variable it tries
    "stop" before "separator, then the remaining variables" (which is why a
    lone trailing separator is accepted). The pattern orders its alternatives
    the same way, so RE2's leftmost-first submatch is Burrito's first parse.
    """

    def __init__(self):
        self.slots: list[tuple[str, _Slot]] = []
        self.occurrence = 0

    def group(self, inner: str, slot: _Slot) -> str:
        name = f"g{len(self.slots)}"
        self.slots.append((name, slot))
        return f"(?P<{name}>{inner})"

    def token(self, token: Token) -> str:
        if isinstance(token, str):
            return re2.escape(token)
        items = tuple(enumerate(token.variables, start=self.occurrence))
        self.occurrence += len(items)
        operator = token.operator
        if not operator.prefix:
            return self.sequence(operator, items, required=False) or ""
        bound = self.sequence(operator, items, required=True)
        return "" if bound is None else f"(?:|{re2.escape(operator.prefix)}{bound})"

    def sequence(
        self, operator: Operator, items: tuple[tuple[int, Variable], ...], *, required: bool
    ) -> str | None:
        """The variables `items` of one expression; None when nothing can
        match (`required` asks for at least one bound variable)."""
        if not items:
            return None if required else ""
        (index, variable), rest = items[0], items[1:]
        skipped = self.sequence(operator, rest, required=required)
        value = self.value(operator, variable, index)
        if value is None:
            return skipped
        more = self.sequence(operator, rest, required=False)
        bound = f"{value}(?:|{re2.escape(operator.separator)}{more})"
        return f"(?:{bound})" if skipped is None else f"(?:{bound}|{skipped})"

    def value(self, operator: Operator, variable: Variable, index: int) -> str | None:
        """One bound variable; None when it can never bind (explode)."""
        name = re2.escape(variable.name)
        if operator.naming == "param":
            # Burrito reads `;name` without `=` as bound to "" even when exploded.
            value = "" if variable.explode else f"|={self.group(_UNRESERVED_VALUE, _Slot(index))}"
            return self.group(f"{name}(?:{value})", _Slot(index, marker=True))
        if variable.explode:
            return None
        chars = _RESERVED_VALUE if operator.reserved else _UNRESERVED_VALUE
        value = self.group(chars, _Slot(index))
        return f"{name}={value}" if operator.naming == "pair" else value
