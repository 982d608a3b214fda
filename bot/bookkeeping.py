"""The bookkeeping checklists' plain data (services/checklists.py keeps them, blocks/checklists.py
shows them): what a checklist is for, its steps, and who ticked each and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.domain import Account, Money


class ChecklistKind(StrEnum):
    """What a checklist is for: the bookkeeping after a refund, or the cover of a debit on a
    trust account (a chargeback or an ACH return on a trust payment)."""

    REFUND = "refund"
    CHARGEBACK = "chargeback"
    ACH_RETURN = "ach_return"

    @property
    def trust_debit(self) -> bool:
        return self is not ChecklistKind.REFUND

    @property
    def noun(self) -> str:
        """What a message calls it: the one word for the dashboard, the thread and the digest."""
        return {"chargeback": "chargeback", "ach_return": "ACH return"}.get(self.value, "refund")


@dataclass(frozen=True)
class ChecklistStepInfo:
    key: str  # stable: stored, and an option value of the checkboxes
    done_by_username: str | None = None
    done_by_slack_id: str | None = None
    done_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.done_at is not None


@dataclass(frozen=True)
class ChecklistInfo:
    """A checklist and its steps in order. ``subject_id``: the refund request, dispute or
    return it is for; ``due``: the firm's day a trust debit must be covered by."""

    id: str
    kind: ChecklistKind
    subject_id: str
    transaction_id: str
    account: Account
    amount: Money
    matter_id: str | None
    steps: tuple[ChecklistStepInfo, ...]
    opened_at: datetime
    version: int = 0
    closed_at: datetime | None = None
    reminded_at: datetime | None = None
    channel: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    due: date | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
