"""The history search box as Stripe can answer it.

A whole id is looked up exactly. Anything else goes to Stripe's Search API over charges
(``/v1/charges/search``): an amount (``125.50``), a card's last four, or a matter id, which must be
typed whole (metadata matches exactly, and case matters). Stripe cannot search by part of an id
or of a customer's name, and its search index trails new payments by up to a minute.
"""

from __future__ import annotations

import re

from bot.domain import Money
from bot.processors.stripe.mapping import MetadataKeys

WHOLE_ID = re.compile(r"(ch|py|pi|re|pyr)_[A-Za-z0-9]{8,}")
_AMOUNT = re.compile(r"\$?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?")


def quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def search_query(text: str, keys: MetadataKeys, currency: str = "USD") -> str | None:
    """Stripe's search query for what a person typed, or None when there is nothing to search."""
    typed = text.strip()
    if not typed:
        return None
    clauses = [f"metadata[{quoted(keys.matter)}]:{quoted(typed)}"]
    if _AMOUNT.fullmatch(typed):
        try:
            clauses.append(f"amount:{Money.parse(typed, currency).minor}")
        except ValueError:
            pass
        if len(typed) == 4 and typed.isdigit():
            clauses.append(f"payment_method_details.card.last4:{quoted(typed)}")
    return " OR ".join(clauses)
