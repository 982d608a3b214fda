"""`paybot`, with the wall clock moved to TEST_CLOCK_START (an ISO instant) and running on from
there: multi-process tests of what happens at a time of day (the daily digest) run whenever the
tests do. Every clock in the bot is bot.clock.utcnow, which asks bot.clock's ``datetime``."""

from __future__ import annotations

import os
import sys
from datetime import datetime, tzinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bot.clock
from bot.cli import main

_REAL = datetime.now(bot.clock.UTC)
_SHIFT = datetime.fromisoformat(os.environ["TEST_CLOCK_START"]) - _REAL


class _Shifted(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return datetime.now(tz) + _SHIFT


bot.clock.datetime = _Shifted  # type: ignore[misc]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
