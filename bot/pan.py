"""The card-number guard: a card number (PAN) however it is spelled, found and masked to its brand
and last four before anything stores, logs, posts or sends it.

PCI DSS 3.3 / 3.4 forbid keeping a full card number and ever keeping the CVV; people still paste
both into a refund reason, a search or a lookup, and a processor may echo them back. A candidate
is a run of digits joined by any run of separators (spaces of every width, no-break and zero-width
spaces, other invisible format characters, dots, dashes, slashes, underscores, newlines). Inside
a candidate every window of 13 to 19 digits that passes the Luhn check and starts like a payment
card (ISO/IEC 7812 industry digits 1-6) is masked, so a number inside a longer digit run
(`invoice 2 6011111111111117`) or next to an expiry date is caught as well, and a CVV-looking
group of three or four digits right after it (after an optional expiry and label) is dropped.
"""

from __future__ import annotations

import re

# Separators people and editors put between digit groups: every kind of space and line break,
# zero-width and other invisible format characters, dots, dashes, slashes and underscores.
SEPARATORS = (
    r"\s\u00a0\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u2000-\u200f\u2028-\u202f"
    r"\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0"
    r".\u00b7\u2022\u2024\u2027\u2219\u22c5\u3002\uff0e"
    r"\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d"
    r"/\\\u2044\u2215\uff0f"
    r"_\uff3f"
)
_RUN = re.compile(rf"\d(?:[{SEPARATORS}]*\d)*")
_AFTER = re.compile(
    rf"(?P<expiry>[{SEPARATORS},;:]*(?:exp\w*[\s:.#=]*)?\d{{1,2}}[\s]*[/\-.][\s]*\d{{2,4}}(?!\d))?"
    rf"(?P<cvv>[{SEPARATORS},;:]*(?:(?:cvv2?|cvc2?|cid|csc|security\s+code)[\s:#=.\-]*)?\d{{3,4}}(?!\d|[.,]\d))",
    re.IGNORECASE,
)
# The lengths tried at each start, most usual first: a 16-digit card followed by a CVV or an
# expiry is masked as 16 digits, not as 19 that swallow the CVV (either way nothing survives).
_LENGTHS = (16, 15, 14, 19, 13, 18, 17)
_BRANDS: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("Amex", ((34, 34), (37, 37))),
    ("Visa", ((4, 4),)),
    ("Mastercard", ((51, 55), (2221, 2720))),
    ("Discover", ((6011, 6011), (644, 649), (65, 65), (622126, 622925))),
    ("JCB", ((3528, 3589),)),
    ("Diners", ((300, 305), (36, 36), (38, 39))),
    ("UnionPay", ((62, 62), (81, 81))),
    ("Maestro", ((50, 50), (56, 58), (6, 6))),
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def brand(digits: str) -> str:
    """The card brand by its leading digits (IIN ranges), "card" when none matches."""
    for name, ranges in _BRANDS:
        for low, high in ranges:
            width = len(str(low))
            if len(digits) >= width and low <= int(digits[:width]) <= high:
                return name
    return "card"


def _is_card(digits: str) -> bool:
    return digits[0] in "123456" and luhn_valid(digits)


def masked(digits: str) -> str:
    return f"[{brand(digits)} •••• {digits[-4:]}]"


def _windows(digits: str, positions: list[int]) -> list[tuple[int, int]]:
    """The card numbers among a run's digits as (first index, length): first the windows that
    start and end on the run's own group boundaries (`2 6011111111111117` is a 2 and a card),
    then any window in the digits left over (a card inside a longer digit run)."""
    count = len(digits)
    opens = [k == 0 or positions[k] - positions[k - 1] > 1 for k in range(count)]
    closes = [k == count - 1 or positions[k + 1] - positions[k] > 1 for k in range(count)]
    found: list[tuple[int, int]] = []

    def scan(low: int, high: int, aligned: bool) -> None:
        index = low
        while index + 13 <= high:
            length = next(
                (
                    n
                    for n in _LENGTHS
                    if index + n <= high
                    and (not aligned or (opens[index] and closes[index + n - 1]))
                    and _is_card(digits[index : index + n])
                ),
                None,
            )
            if length is None:
                index += 1
                continue
            found.append((index, length))
            index += length

    scan(0, count, aligned=True)
    gaps, low = [], 0
    for first, length in sorted(found):
        gaps.append((low, first))
        low = first + length
    gaps.append((low, count))
    for gap in gaps:
        scan(*gap, aligned=False)
    return sorted(found)


def _mask_run(text: str, start: int, end: int) -> tuple[str, int]:
    """The run text[start:end] with its card numbers masked, and where the caller goes on (past a
    dropped CVV, which may reach beyond the run when a label such as `CVV:` precedes it)."""
    positions = [i for i in range(start, end) if text[i].isdecimal()]
    digits = "".join(str(int(text[i])) for i in positions)
    windows = _windows(digits, positions)
    out: list[str] = []
    copied = start
    for number, (index, length) in enumerate(windows):
        first, last = positions[index], positions[index + length - 1] + 1
        out += [text[copied:first], masked(digits[index : index + length])]
        following = windows[number + 1] if number + 1 < len(windows) else None
        after = _AFTER.match(text, last)
        if after is not None and (following is None or after.end() <= positions[following[0]]):
            out.append(after.group("expiry") or "")
            last = after.end()
        copied = last
    resume = max(end, copied)
    out.append(text[copied:resume])
    return "".join(out), resume


def mask_pans(text: str) -> str:
    """The text with every card number masked (`[Visa •••• 1111]`) and a CVV after it dropped."""
    if not text:
        return text
    out: list[str] = []
    position = 0
    while True:
        found = _RUN.search(text, position)
        if found is None:
            break
        if found.end() - found.start() < 13:
            out.append(text[position : found.end()])
            position = found.end()
            continue
        replaced, resume = _mask_run(text, found.start(), found.end())
        out += [text[position : found.start()], replaced]
        position = resume
    out.append(text[position:])
    return "".join(out)


MASKED = re.compile(r"\[[A-Za-z]+ •••• \d{4}\]")


def has_pan(text: str) -> bool:
    """Whether the text holds a card number, or what the guard left of one: an id or a search
    holding either is refused, not looked for."""
    return MASKED.search(text) is not None or mask_pans(text) != text
