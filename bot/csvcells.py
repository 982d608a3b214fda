"""Every CSV the bot writes (`/pay report`, the audit export) goes through this writer, so no cell
a person or a processor wrote can run as a spreadsheet formula ("CSV injection", OWASP): a cell
that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a single
quote before it, which spreadsheets show as text. A plain number (``-12.50``, the bot's own net
figures) cannot be a formula and is left a number."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Protocol

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


class Writable(Protocol):
    def write(self, text: str, /) -> object: ...


def neutralised(value: object) -> str:
    """The cell as written: ``'=HYPERLINK(…)`` for ``=HYPERLINK(…)``."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeWriter:
    """``csv.writer`` whose every cell is neutralised first."""

    def __init__(self, out: Writable) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, cells: Iterable[object]) -> None:
        self._writer.writerow([neutralised(cell) for cell in cells])
