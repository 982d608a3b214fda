"""Where a firm keeps the matter and the trust/operating flag on a Payrix txn (``FieldPath``).

Where a firm keeps the matter and the trust/operating flag is configurable (``FieldPath``):
Actionstep Payments writes a JSON object into the transaction ``description``, e.g.
``{"id": "51fb…", "isTrust": false, "description": "Payment of invoice #01294"}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import Account
from bot.processors.payrix.models import Txn

_PATH = re.compile(r"(order|description)((?:\.[A-Za-z0-9_\-]+)*)|none")
TRUE_WORDS = ("1", "true", "yes", "y", "trust")
FALSE_WORDS = ("0", "false", "no", "n", "operating", "")


@dataclass(frozen=True)
class FieldPath:
    """``order`` or ``description`` (the whole text), ``description.<key>[.<key>…]`` (a key of
    the JSON object held there; ``order.<key>`` likewise) or ``none``."""

    source: str
    keys: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> FieldPath:
        match = _PATH.fullmatch(text.strip())
        if match is None:
            raise ValueError(
                f"{text!r} is not a field: use order, description, description.<key> or none"
            )
        if match.group(0) == "none":
            return cls("none")
        return cls(match.group(1), tuple(k for k in match.group(2).split(".") if k))

    def __str__(self) -> str:
        return ".".join((self.source, *self.keys))

    def read(self, txn: Txn) -> Any:
        if self.source == "none":
            return None
        raw = txn.order if self.source == "order" else txn.description
        if not self.keys:
            return raw.strip() if raw and raw.strip() else None
        value: Any = description_object(raw)
        for key in self.keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value


@dataclass(frozen=True)
class Fields:
    matter: FieldPath = FieldPath("description", ("id",))
    trust: FieldPath = FieldPath("description", ("isTrust",))
    text: FieldPath = FieldPath("description", ("description",))


def description_object(raw: str | None) -> dict[str, Any] | None:
    """The description as a JSON object, when that is what it holds."""
    if not raw or not raw.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def matter_of(txn: Txn, fields: Fields) -> str | None:
    value = fields.matter.read(txn)
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def account_of(txn: Txn, fields: Fields) -> tuple[Account, str | None]:
    value = fields.trust.read(txn)
    if value is None:
        return Account.OPERATING, None
    word = str(value).strip().casefold() if not isinstance(value, bool) else str(int(value))
    if word in TRUE_WORDS:
        return Account.TRUST, None
    if word in FALSE_WORDS:
        return Account.OPERATING, None
    return Account.OPERATING, f"the account flag {fields.trust} = {value!r} is not understood"


def text_of(txn: Txn, fields: Fields) -> str | None:
    """What the payment was for: the description's text, unless the matter lives there."""
    if description_object(txn.description) is None:
        if fields.matter == FieldPath("description"):
            return None
        return (txn.description or "").strip() or None
    value = fields.text.read(txn)
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip() or None
