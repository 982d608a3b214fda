"""What one process may reuse of what it read about portal users (their account and role, their
history columns), and for how long: until a change is announced, or a time-to-live passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# SQLite runs one bot process: its own changes drop the caches at once, the CLI's (another
# process) are seen within this many seconds.
SQLITE_TTL_SECONDS = 1.0
# PostgreSQL: while this process listens for changes (db/changes.py), each change drops the
# caches at once; this bound only limits how long a notification lost without the connection
# noticing could matter.
LISTENING_TTL_SECONDS = 300.0


class Freshness:
    """Shared by every cache of one process. ``ttl`` 0 reuses nothing: PostgreSQL starts so, and
    returns to it whenever this process is not listening for changes."""

    def __init__(self, ttl: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.generation = 0
        self.monotonic = monotonic

    def forget(self) -> None:
        """Something cached may have changed: read everything afresh from now on."""
        self.generation += 1


class Recent(Generic[K, V]):
    """Values read per key, reused while fresh. A value read across a change (the generation
    moved while it was read) is not kept, so a read that raced a change cannot outlive it."""

    def __init__(self, freshness: Freshness, most: int = 10_000) -> None:
        self._freshness = freshness
        self._most = most
        self._values: dict[K, tuple[float, int, V]] = {}

    def get(self, key: K) -> tuple[bool, V | None]:
        found = self._values.get(key)
        fresh = self._freshness
        if found is None or found[1] != fresh.generation or found[0] <= fresh.monotonic():
            return False, None
        return True, found[2]

    def begin(self) -> int:
        """The generation a read starts in, for ``put``."""
        return self._freshness.generation

    def put(self, key: K, value: V, generation: int) -> None:
        fresh = self._freshness
        if generation != fresh.generation or fresh.ttl <= 0:
            return
        if len(self._values) >= self._most:
            self._values.clear()
        self._values[key] = (fresh.monotonic() + fresh.ttl, generation, value)
