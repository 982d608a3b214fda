"""Card numbers (PANs) typed into free text: found and masked before anything stores or shows them.

PCI DSS forbids storing a full card number; people still paste one into a refund reason or a
lookup. A 13-19 digit run (spaces or dashes allowed between groups) that passes the Luhn check is
replaced by its last four.
"""

from __future__ import annotations

import re

_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _mask(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return f"[card •••• {digits[-4:]}]"
    return match.group(0)


def mask_pans(text: str) -> str:
    return _CANDIDATE.sub(_mask, text)


def has_pan(text: str) -> bool:
    return mask_pans(text) != text
