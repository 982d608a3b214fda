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
import uuid
from dataclasses import dataclass

# Every invisible format character (Unicode category Cf, through Unicode 16): soft hyphen, the
# Arabic and Syriac number signs, zero-width spaces and joiners, bidirectional marks, the
# invisible operators, interlinear annotation, shorthand and musical format controls and the tag
# characters. Text rules strip them; between digit groups they are separators.
FORMAT = (
    r"\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    r"\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    r"\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f"
)
# Separators people and editors put between digit groups: every kind of space and line break
# (categories Zs, Zl, Zp and the controls), every format character, the marks and fillers that
# render blank, dots, dashes, slashes and underscores.
SEPARATORS = (
    r"\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    + FORMAT
    + r"\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
    r"\U000e0100-\U000e01ef"
    r".\u00b7\u2022\u2024\u2027\u2219\u22c5\u3002\uff0e"
    r"\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d"
    r"/\\\u2044\u2215\uff0f"
    r"_\uff3f"
)
_RUN = re.compile(rf"\d(?:[{SEPARATORS}]*\d)*")
# Whether a text holds thirteen digits anywhere: a match that never steps back (`*+`), half the
# cost of counting them all (text of a few words, the guard's commonest input).
_THIRTEEN_DIGITS = re.compile(r"(?:\D*+\d){13}")
# What may follow a card number: an expiry (kept: it is no secret on its own), then a CVV (dropped)
# with or without a label, a `#` or brackets.
_LABEL = r"(?:cvv2?|cvc2?|cvn|cav2|cid|csc|security\s+code|code)"
_AFTER = re.compile(
    rf"(?P<expiry>[{SEPARATORS},;:]*"
    rf"(?:exp\w*[\s:.#=]*(?:\d{{4}}|\d{{6}})(?!\d)"
    rf"|(?:exp\w*[\s:.#=]*)?\d{{1,2}}\s*[/\-.]\s*\d{{2,4}}(?!\d)))?"
    rf"(?P<cvv>[{SEPARATORS},;:]*(?P<open>[(\[]\s*)?(?:{_LABEL}[\s:#=.\-]*|\#\s*)?"
    rf"\d{{3,4}}(?!\d|[.,]\d)(?(open)\s*[)\]]?))?",
    re.IGNORECASE,
)
# Several windows from one start may pass the Luhn check. The shortest whose rest of the digit run
# reads as an expiry and a CVV (or as nothing) wins: a 19-digit card followed by a CVV is 19
# digits, and a 13- or 16-digit card followed by a CVV stays 13 or 16 even when the digits pass
# together (the last four shown would be the CVV's). Digits after a card that can be its CVV are
# taken for its CVV, so a 19-digit card with nothing after it whose first 16 digits pass as well
# is masked as the 16 and its last three dropped. When nothing reads so (a card inside a longer
# digit run), the most usual length wins and the rest of the run up to 19 digits goes with it.
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


@dataclass(frozen=True)
class _Window:
    """A card number among a run's digits: where it starts, how long it is, and how many digits
    after it are dropped with it (the rest of a run that cannot be told apart from the card)."""

    index: int
    length: int
    dropped: int = 0

    @property
    def stop(self) -> int:
        return self.index + self.length + self.dropped


@dataclass(frozen=True)
class _Run:
    """A run of digits joined by separators: its text, its digits and where each digit is."""

    text: str
    end: int
    digits: str
    positions: list[int]

    def opens(self, index: int) -> bool:
        return index == 0 or self.positions[index] - self.positions[index - 1] > 1

    def closes(self, index: int) -> bool:
        last = len(self.digits) - 1
        return index == last or self.positions[index + 1] - self.positions[index] > 1

    def explained(self, stop: int) -> bool:
        """Whether what follows the digits before `stop` to the run's end is nothing, or reads
        as an expiry and a CVV (and no other CVV follows: then those digits were the card's)."""
        if stop == len(self.digits):
            return True
        after = _AFTER.match(self.text, self.positions[stop - 1] + 1)
        if after is None or after.end() < self.end:
            return False
        later = _AFTER.match(self.text, after.end()) if after.group("cvv") else None
        return later is None or not later.group("cvv")

    def window(self, index: int, high: int, aligned: bool) -> _Window | None:
        """The card number starting at `index`, if any (see _LENGTHS for which one wins)."""
        lengths = [
            n
            for n in _LENGTHS
            if index + n <= high
            and (not aligned or (self.opens(index) and self.closes(index + n - 1)))
            and _is_card(self.digits[index : index + n])
        ]
        if not lengths:
            return None
        length = next((n for n in sorted(lengths) if self.explained(index + n)), None)
        if length is not None:
            return _Window(index, length)
        # What is left of the run up to 19 digits (whole groups when the run has them) may be
        # the rest of the card: it goes with it.
        length = lengths[0]
        dropped = 0
        for extra in range(1, min(19 - length, high - index - length) + 1):
            if not aligned or self.closes(index + length + extra - 1):
                dropped = extra
        return _Window(index, length, dropped)


def _windows(run: _Run) -> list[_Window]:
    """The card numbers among a run's digits: first those that start and end on the run's own
    group boundaries (`2 6011111111111117` is a 2 and a card), then any in the digits left over
    (a card inside a longer digit run)."""
    found: list[_Window] = []

    def scan(low: int, high: int, aligned: bool) -> None:
        index = low
        while index + 13 <= high:
            window = run.window(index, high, aligned)
            if window is None:
                index += 1
                continue
            found.append(window)
            index = window.stop

    scan(0, len(run.digits), aligned=True)
    gaps, low = [], 0
    for window in sorted(found, key=lambda w: w.index):
        gaps.append((low, window.index))
        low = window.stop
    gaps.append((low, len(run.digits)))
    for gap in gaps:
        scan(*gap, aligned=False)
    return sorted(found, key=lambda w: w.index)


def _mask_run(text: str, start: int, end: int) -> tuple[str, int]:
    """The run text[start:end] with its card numbers masked, and where the caller goes on (past a
    dropped CVV, which may reach beyond the run when a label such as `CVV:` precedes it)."""
    positions = [i for i in range(start, end) if text[i].isdecimal()]
    run = _Run(text, end, "".join(str(int(text[i])) for i in positions), positions)
    windows = _windows(run)
    out: list[str] = []
    copied = start
    for number, window in enumerate(windows):
        first, last = positions[window.index], positions[window.stop - 1] + 1
        out += [text[copied:first], masked(run.digits[window.index : window.index + window.length])]
        following = windows[number + 1] if number + 1 < len(windows) else None
        after = _AFTER.match(text, last)
        if after is not None and (following is None or after.end() <= positions[following.index]):
            out.append(after.group("expiry") or "")
            last = after.end()
        copied = last
    resume = max(end, copied)
    out.append(text[copied:resume])
    return "".join(out), resume


# A Payrix id (`t1_txn_` and 23 hex characters): about one in four hundred holds a digit run
# that reads as a card, and masking it would make that payment or chargeback unfindable.
PROCESSOR_ID = re.compile(r"(?<![0-9A-Za-z])t1_[a-z]{3}_[0-9a-f]{20,32}(?![0-9A-Za-z])")


def mask_pans(text: str) -> str:
    """The text with every card number masked (`[Visa •••• 1111]`) and a CVV after it dropped;
    a processor's own ids are left whole."""
    # No card number has fewer than 13 digits: most text (every access log line) ends here,
    # at a fifth of the full scan's cost (bench/answers.py).
    if len(text) < 13 or _THIRTEEN_DIGITS.match(text) is None:
        return text
    ids = [(m.start(), m.end()) for m in PROCESSOR_ID.finditer(text)]
    out: list[str] = []
    position = 0
    while True:
        found = _RUN.search(text, position)
        if found is None:
            break
        inside = next((end for start, end in ids if start <= found.start() < end), None)
        if inside is not None:
            out.append(text[position:inside])
            position = inside
            continue
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


def random_id() -> str:
    """A random 32-hex id (uuid4) that the guard leaves as it is. About one uuid4 hex in a
    thousand holds a 13-19 digit run that reads as a card, and the guard would then mask the id
    in the audit log and wherever it is shown, so that a request could not be found by it."""
    while has_pan(candidate := uuid.uuid4().hex):
        pass
    return candidate
