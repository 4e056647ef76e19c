"""An SVG badge in the usual flat shape: a grey label, a coloured message.

The text is measured with approximate Verdana 11px advances (no font file is
read), so the badge fits its text in any browser within a pixel or two.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string

PADDING = 6  # pixels on each side of a text
NARROW = set("fijlrt.,:;!'|()[] /")
WIDE = set("mwMW@%")


def char_width(char: str) -> int:
    if char in NARROW:
        return 4
    if char in WIDE:
        return 10
    return 7 if char.islower() or char.isdigit() else 8


def text_width(text: str) -> int:
    return sum(char_width(char) for char in text)


@dataclass(frozen=True)
class Badge:
    label: str
    message: str
    title: str  # what screen readers and a hover say, e.g. with the package's name

    @property
    def label_width(self) -> int:
        return text_width(self.label) + 2 * PADDING

    @property
    def message_width(self) -> int:
        return text_width(self.message) + 2 * PADDING

    def svg(self) -> str:
        """The badge as an SVG document, every text escaped for XML."""
        return render_to_string("publicstats/badge.svg", {"badge": self})
