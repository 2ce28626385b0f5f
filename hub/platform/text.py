"""Text from outside made safe for one line: a mail header, a terminal line, a log line."""

from __future__ import annotations

import re
import unicodedata

_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029\x85\x0b\x0c]+\s*")


def one_line(text: str) -> str:
    """``text`` on one line: line breaks (CR, LF, Unicode separators) become one space and every
    other control character (ESC of a terminal sequence, NUL, TAB ...) is dropped or spaced."""
    text = _BREAKS.sub(" ", text)
    return "".join(" " if ch == "\t" else ch for ch in text if ch == "\t" or unicodedata.category(ch) != "Cc")
