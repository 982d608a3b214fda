"""What the sandbox charges the firm, as a processor would: a fee per payment (a percentage and a
fixed part) and a fee per dispute. Fees are operating's: they are taken from the operating
withdrawal, never from trust (a fee paid with clients' trust money would mix the two)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Fees:
    percent: Decimal = Decimal(0)
    fixed_minor: int = 0
    dispute_minor: int = 0

    def payment_fee(self, amount_minor: int) -> int | None:
        """The fee of a payment in minor units, rounded half up (None: no fee at all)."""
        fee = (Decimal(amount_minor) * self.percent / 100).quantize(Decimal(1), ROUND_HALF_UP)
        total = int(fee) + self.fixed_minor
        return total or None

    def dispute_fee(self) -> int | None:
        return self.dispute_minor or None


NO_FEES = Fees()
