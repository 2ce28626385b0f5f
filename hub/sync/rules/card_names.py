"""What a connector card may be called: a name that is safe in a URL, a file name and a log line."""

from __future__ import annotations

import re

#: lowercase letters, digits and dashes, starting with a letter, at most 63 characters
_SLUG = re.compile(r"[a-z][a-z0-9-]{0,62}")


def card_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a connector card, in plain words; ``None`` when it can."""
    if not name.strip():
        return "the connector needs a name"
    if _SLUG.fullmatch(name) is None:
        return (f"connector name {name!r} is not allowed: use lowercase letters, digits and dashes, "
                "starting with a letter, at most 63 characters (e.g. kaseya-bms)")
    return None
