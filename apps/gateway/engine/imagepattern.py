"""Docker image patterns: the `pattern` of a docker-v2 rule (GATEWAY-REFERENCE §7.2).

A pattern is a `/`-separated list of segment globs made of `*`, `{alt,...}`
(alternatives, nestable) and literal text with `\\*`, `\\{`, `\\}`, `\\,` escapes.
Parsing follows the reference parser exactly, including its prefix quirk (§2.4):
once a valid pattern has been read, whatever follows is ignored (`library/*}`
is `library/*`), but a `/` must always be followed by a segment.

Each segment glob is compiled to a small NFA and matched by simulating all of
its states at once, so matching stays linear in the length of the image name
whatever the nesting of stars and alternatives: a tenant's pattern can never
stall a worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

ESCAPABLE = "*{},"
_LITERAL_STOP = ESCAPABLE + "/\\"
# Deeper nesting than this is refused rather than risking the recursion limit.
MAX_NESTING = 64


class PatternError(ValueError):
    """The text is not a valid image pattern."""


@dataclass(frozen=True)
class _Star:
    pass


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Union:
    alternatives: tuple[tuple[_Piece, ...], ...]


_Piece = _Star | _Literal | _Union
_STAR = _Star()


class _Parser:
    """Recursive descent over the pattern text, mirroring the reference grammar.

    A piece that cannot start ends its glob without error; a construct that
    has started (`/`, `{`, `,`) must complete, or the whole pattern is invalid.
    """

    def __init__(self, text: str):
        self.text = text
        self.position = 0

    def peek(self) -> str:
        return self.text[self.position : self.position + 1]

    def pattern(self) -> list[tuple[_Piece, ...]]:
        segments = [self.glob(depth=0)]
        while self.peek() == "/":
            self.position += 1
            segments.append(self.glob(depth=0))
        return segments

    def glob(self, depth: int) -> tuple[_Piece, ...]:
        pieces: list[_Piece] = []
        while (piece := self.piece(depth)) is not None:
            pieces.append(piece)
        if not pieces:
            raise PatternError(f"expected a segment at position {self.position}")
        return tuple(pieces)

    def piece(self, depth: int) -> _Piece | None:
        char = self.peek()
        if char == "*":
            self.position += 1
            return _STAR
        if char == "{":
            return self.union(depth + 1)
        return self.literal()

    def union(self, depth: int) -> _Union:
        if depth > MAX_NESTING:
            raise PatternError(f"alternatives nested more than {MAX_NESTING} deep")
        self.position += 1
        alternatives = [self.glob(depth)]
        while self.peek() == ",":
            self.position += 1
            alternatives.append(self.glob(depth))
        if self.peek() != "}":
            raise PatternError(f"expected '}}' at position {self.position}")
        self.position += 1
        return _Union(tuple(alternatives))

    def literal(self) -> _Literal | None:
        chars: list[str] = []
        while char := self.peek():
            following = self.text[self.position + 1 : self.position + 2]
            if char == "\\" and following and following in ESCAPABLE:
                chars.append(following)
                self.position += 2
            elif char in _LITERAL_STOP:
                break
            else:
                chars.append(char)
                self.position += 1
        return _Literal("".join(chars)) if chars else None


_ANY = None  # the label of a transition that consumes any character


@dataclass(frozen=True)
class _Nfa:
    """A segment glob as an NFA: state 0 is the start, `accept` the end.

    `moves[s]` lists (label, target) pairs, label a character or `_ANY`;
    `closures[s]` is every state reachable from `s` without consuming input.
    """

    moves: tuple[tuple[tuple[str | None, int], ...], ...]
    closures: tuple[frozenset[int], ...]
    accept: int

    def accepts(self, text: str) -> bool:
        states = self.closures[0]
        for char in text:
            states = frozenset().union(
                *(
                    self.closures[target]
                    for state in states
                    for label, target in self.moves[state]
                    if label is _ANY or label == char
                )
            )
            if not states:
                return False
        return self.accept in states


class _NfaBuilder:
    def __init__(self) -> None:
        self.moves: list[list[tuple[str | None, int]]] = []
        self.epsilons: list[list[int]] = []

    def new_state(self) -> int:
        self.moves.append([])
        self.epsilons.append([])
        return len(self.moves) - 1

    def add_glob(self, pieces: tuple[_Piece, ...], state: int) -> int:
        """Add transitions for `pieces` starting at `state`; return the end state."""
        for piece in pieces:
            state = self.add_piece(piece, state)
        return state

    def add_piece(self, piece: _Piece, state: int) -> int:
        if isinstance(piece, _Literal):
            for char in piece.text:
                target = self.new_state()
                self.moves[state].append((char, target))
                state = target
            return state
        if isinstance(piece, _Star):
            loop = self.new_state()
            self.epsilons[state].append(loop)
            self.moves[loop].append((_ANY, loop))
            return loop
        end = self.new_state()
        for alternative in piece.alternatives:
            start = self.new_state()
            self.epsilons[state].append(start)
            self.epsilons[self.add_glob(alternative, start)].append(end)
        return end

    def closure(self, state: int) -> frozenset[int]:
        seen = {state}
        pending = [state]
        while pending:
            for target in self.epsilons[pending.pop()]:
                if target not in seen:
                    seen.add(target)
                    pending.append(target)
        return frozenset(seen)


def _compile(pieces: tuple[_Piece, ...]) -> _Nfa:
    builder = _NfaBuilder()
    accept = builder.add_glob(pieces, builder.new_state())
    return _Nfa(
        moves=tuple(tuple(moves) for moves in builder.moves),
        closures=tuple(builder.closure(state) for state in range(len(builder.moves))),
        accept=accept,
    )


@dataclass(frozen=True)
class ImagePattern:
    """A parsed pattern; `text` is what the manifest gave, kept for export."""

    text: str
    segments: tuple[_Nfa, ...] = field(compare=False, repr=False)

    def matches(self, image: Sequence[str]) -> bool:
        """True when the image has as many segments as the pattern and each matches."""
        return len(image) == len(self.segments) and all(
            nfa.accepts(segment) for nfa, segment in zip(self.segments, image, strict=True)
        )


def parse_image_pattern(text: str) -> ImagePattern:
    """Parse a docker-v2 pattern; raises PatternError when the reference would reject it."""
    globs = _Parser(text).pattern()
    return ImagePattern(text, tuple(_compile(pieces) for pieces in globs))
