"""The approval policy: how many approvals a request needs and how long it may wait, beside the
roles table (bot/roles.py) that says who may decide at all. One table behind every check, the
README and `/pay help`'s wording."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum


class SecondApproval(StrEnum):
    """What a request at or over the threshold needs (PAYBOT_SECOND_APPROVAL)."""

    TWO_APPROVERS = "two_approvers"  # two different managers or admins, neither the requester
    ADMIN = "admin"  # one admin, not the requester


class Rule(StrEnum):
    """The rule a request was opened under, stored with it: a later change of the settings does
    not change what a waiting request needs."""

    ONE = "one"
    TWO_APPROVERS = "two_approvers"
    ADMIN = "admin"


@dataclass(frozen=True)
class Policy:
    over_minor: int | None = None  # the threshold in minor units; None: off
    second: SecondApproval = SecondApproval.TWO_APPROVERS
    remind_after: timedelta | None = None
    expire_after: timedelta | None = None

    @classmethod
    def of(
        cls,
        over: Decimal | None,
        second: SecondApproval,
        remind_hours: float | None,
        expire_hours: float | None,
    ) -> Policy:
        return cls(
            int(over * 100) if over is not None else None,
            second,
            timedelta(hours=remind_hours) if remind_hours else None,
            timedelta(hours=expire_hours) if expire_hours else None,
        )

    def rule(self, amount_minor: int) -> Rule:
        """What a refund (or an acceptance) of this amount needs."""
        if self.over_minor is None or amount_minor < self.over_minor:
            return Rule.ONE
        return Rule(self.second.value)


@dataclass(frozen=True)
class Row:
    request: str
    needs: str


POLICY_TABLE: tuple[Row, ...] = (
    Row(
        "refund under `PAYBOT_REFUND_SECOND_APPROVAL_OVER` (or with it unset)",
        "one manager or admin, not the requester",
    ),
    Row(
        "refund at or over it, `PAYBOT_SECOND_APPROVAL=two_approvers` (the default)",
        "two different managers or admins, neither the requester; the message shows "
        '"1 of 2 approvals" between them, and only the second sends the refund',
    ),
    Row(
        "refund at or over it, `PAYBOT_SECOND_APPROVAL=admin`",
        "one admin, not the requester (a manager may still reject)",
    ),
    Row("dispute response", "one manager or admin, not the drafter"),
    Row("accepting a dispute under the threshold", "one manager or admin (the click itself)"),
    Row(
        "accepting a dispute at or over it, `two_approvers`",
        "the manager or admin who clicks Accept asks, and another approves (two in all)",
    ),
    Row(
        "accepting a dispute at or over it, `admin`",
        "an admin's click accepts; anyone else's asks, and an admin approves",
    ),
    Row(
        "any request undecided for `PAYBOT_APPROVAL_REMIND_HOURS` (default 24)",
        "raised again in its thread and sent by DM to everyone who may decide it, once",
    ),
    Row(
        "any request undecided for `PAYBOT_APPROVAL_EXPIRE_HOURS` (unset: never)",
        "expires: audited, the requester told, the message updated; it can no longer be approved",
    ),
    Row("withdrawing a waiting request", "the requester alone (audited)"),
)


def policy_table_markdown() -> str:
    """The table as Markdown, for the README (a test keeps the README in step)."""
    lines = ["| request | needs |", "|---|---|"]
    lines += [f"| {row.request} | {row.needs} |" for row in POLICY_TABLE]
    return "\n".join(lines)
