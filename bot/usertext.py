"""The rules for text a person or a processor gives us: card numbers masked, control and
bidirectional-override characters removed, and a text of nothing visible counted as empty."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.pan import FORMAT, mask_pans

# C0/C1 controls but tab and line feed, and every invisible format character (category Cf:
# bidirectional marks, embeddings, overrides and isolates, zero-width spaces and joiners, tag
# characters and the rest) that only hides what a text says.
_HIDDEN = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{FORMAT}]")
# What is left of a text that shows nothing: whitespace and the characters that render blank.
_BLANK = re.compile(
    r"[\s\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
    r"\U000e0100-\U000e01ef]+"
)


def clean(text: str) -> str:
    """The text as we keep and show it: controls and bidi overrides removed, then card numbers
    masked (so a control character between digit groups cannot hide one from the guard). Text
    of printable ASCII (most names, ids and descriptions) has no control or format character
    to remove: it goes straight to the guard."""
    if text.isascii() and text.isprintable():
        return mask_pans(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return mask_pans(_HIDDEN.sub("", text))


def visible(text: str) -> str:
    """The cleaned text, stripped; empty when nothing in it would show."""
    cleaned = clean(text).strip()
    return cleaned if _BLANK.sub("", cleaned) else ""


def clean_all(value: Any) -> Any:
    """Every string inside a JSON-like value cleaned (an audit row's before and after)."""
    return map_strings(value, clean)


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """A JSON-like value with ``change`` applied to every string in it, keys included."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {change(str(k)): map_strings(v, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [map_strings(v, change) for v in value]
    return value
