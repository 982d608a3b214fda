"""Logs for machines (JSON lines with a request id) or for people at a terminal (short plain
lines), and secrets redacted whatever logged them.

Redaction runs on the final formatted line, so a token inside an exception message, a URL or a
third-party library's log record is caught as surely as one in our own messages.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

from pythonjsonlogger.orjson import OrjsonFormatter

from bot.pan import mask_pans
from bot.usertext import map_strings

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

SECRET_PATTERNS = re.compile(
    r"(xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+"
    r"|whsec_[A-Za-z0-9]+|Bearer\s+[A-Za-z0-9._-]+)"
)
REDACTED = "[REDACTED]"
# Each of SECRET_PATTERNS' shapes holds one of these: text holding none is not searched.
_SHAPE_HINTS = ("xox", "xapp-", "_live_", "_test_", "whsec_", "Bearer")


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._exact = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._exact:
            text = text.replace(secret, REDACTED)
        for hint in _SHAPE_HINTS:
            if hint in text:
                text = SECRET_PATTERNS.sub(REDACTED, text)
                break
        return mask_pans(text)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class RedactingJsonFormatter(OrjsonFormatter):
    """python-json-logger's formatter on orjson: an access line's JSON in a tenth of the time
    of the standard library's encoder, which the library's default formatter builds anew for
    every line (bench/answers.py)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
        self._redact = redact
        self._second: int | None = None
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """logging's own text of the time, its second's part made once a second rather than by
        strftime on every line (an access line's tenth). A second's boundary is the same in
        every zone, so the cached text is the one strftime would give."""
        if datefmt or not self.default_msec_format:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return self.default_msec_format % (self._stamp, record.msecs)

    def jsonify_log_record(self, log_data: Any) -> str:
        """Every value redacted before it is JSON-encoded: once encoded, a no-break space or a
        line break between digit groups is an escape (`\\u00a0`, `\\n`) the guard cannot see
        through. What the formatter writes itself (the time, the level, the logger's name) holds
        nothing anyone typed and is left alone: the time's seventeen digits sent every line
        through the card guard's full scan (a third of an access line's cost,
        bench/answers.py). The whole line is then not scanned again: every part of it is."""
        redact = self._redact
        return super().jsonify_log_record(
            {  # the record's own keys are the format's and the code's `extra=` names
                key: value if key in _OWN_FIELDS else map_strings(value, redact)
                for key, value in log_data.items()
            }
        )


# The fields the formatter fills from the record itself (renamed as in __init__).
_OWN_FIELDS = ("time", "level", "logger")


class RedactingPlainFormatter(logging.Formatter):
    """`12:03:04 WARNING paybot.server: message`: what a person reads in a terminal."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class AlembicChatter(logging.Filter):
    """Alembic says which dialect it uses at every start; only an actual migration is news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))


def configure(
    secrets: Iterable[str] = (),
    level: int | str = logging.INFO,
    stream: object = None,
    form: str = "json",
) -> logging.Handler:
    """Replace the root handlers with one handler: `json` lines, `plain` lines, or `auto`
    (plain when the stream is a terminal). The handler, for tests to inspect."""
    out = stream or sys.stderr
    if form == "auto":
        isatty = getattr(out, "isatty", None)
        form = "plain" if isatty is not None and isatty() else "json"
    # None of the lines says where in the code, or in which thread or process, it was logged:
    # logging's documented switches ("Optimization", logging HOWTO) spare every record the
    # look-ups (a stack walk for the caller among them).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(out)  # type: ignore[arg-type]
    redact = Redactor(secrets)
    formatter = (
        RedactingPlainFormatter(redact) if form == "plain" else RedactingJsonFormatter(redact)
    )
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # slack_sdk says at INFO each time it retries a call; what fails in the end is reported.
    # The stripe library says every request and retry at INFO: the same, for the same reason.
    for name in ("slack_sdk.web.async_base_client", "stripe"):
        chatty = logging.getLogger(name)
        chatty.setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, AlembicChatter) for f in migration.filters):
        migration.addFilter(AlembicChatter())
    return handler


def secrets_of(settings: object) -> list[str]:
    """Every SecretStr setting's value, so each is redacted even without a known prefix."""
    values = []
    for name in type(settings).model_fields:  # type: ignore[attr-defined]
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            values.append(str(value.get_secret_value()))
    return values
