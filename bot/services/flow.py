"""What a use of the approvals machine (services/approvals.py) declares: its :class:`Flow`, the
``Tell`` that records the messages each step owes, the one reason rule and the policy rule a
request was opened under."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import PortalUser
from bot.domain import REASON_MAX, Asked
from bot.errors import FormErrors, PaybotError
from bot.ids import BlockId, JobKind, Milestone
from bot.policy import Rule
from bot.roles import Action, Role, allowed
from bot.usertext import visible

FAILED = "failed"
WITHDRAWN = "withdrawn"
EXPIRED = "expired"

Info = TypeVar("Info", bound=Asked)  # what a request carries, whatever it asks for
Told = TypeVar("Told", contravariant=True)


class Tell(Protocol[Told]):
    """Records the messages a request owes Slack, in the transaction of its move: at its opening
    (milestone None) and at each milestone; ``to``: the people a reminder goes to by DM."""

    async def __call__(
        self,
        session: AsyncSession,
        info: Told,
        milestone: Milestone | None,
        now: datetime,
        /,
        to: Sequence[str] = (),
    ) -> None: ...


async def tell_nothing(
    session: AsyncSession, info: Any, milestone: Any, now: datetime, /, to: Sequence[str] = ()
) -> None:
    return None


def check_reason(text: str, block_id: str = BlockId.REASON) -> str:
    """The reason as it will be stored and shown: card numbers masked, controls removed,
    trimmed; a reason of nothing visible (zero-width or blank characters) is no reason."""
    reason = visible(text)
    if not reason:
        raise FormErrors({block_id: "Give a reason: it is sent to everyone on the matter."})
    if len(reason) > REASON_MAX:
        raise FormErrors(
            {block_id: f"Keep the reason to {REASON_MAX} characters (it has {len(reason)})."}
        )
    return reason


@dataclass(frozen=True)
class Flow(Generic[Info]):
    """One use of the machine: which rows, what they are called, who decides, what is audited."""

    model: type[Any]
    info: Callable[[Any], Info]
    # Every request's states bear the same names (approved, rejected, submitting, withdrawn,
    # expired, failed; awaiting_second where two approvals may be needed): the first is the
    # state it opens in.
    states: type[StrEnum]
    carry_out: JobKind  # the job that carries an approval out
    decide: Action
    noun: str  # "This refund request": what a refusal calls it
    asked: str  # "asked for this refund": what four eyes tells the requester
    refused: type[PaybotError]
    job_key: str  # the payload key naming the row in this flow's jobs
    target_type: str
    target_id: Callable[[Any], str]  # the audited target of a row
    action: Callable[[str, bool], str]  # (state moved to, by a person) -> audit action
    details: Callable[[str, Mapping[str, Any]], dict[str, Any]]  # (id, changes) -> audit "after"

    @property
    def open_state(self) -> str:
        return str(next(iter(self.states)))

    @property
    def approved_state(self) -> str:
        return str(self.states("approved"))

    @property
    def rejected_state(self) -> str:
        return str(self.states("rejected"))

    @property
    def submitting_state(self) -> str:  # approved and being carried out
        return str(self.states("submitting"))

    @property
    def second_state(self) -> str | None:  # one of two approvals given (bot/policy.py's rule)
        values = {str(state) for state in self.states}
        return "awaiting_second" if "awaiting_second" in values else None

    @property
    def waiting(self) -> tuple[str, ...]:
        """The states of a request still to be decided (or withdrawn, or expired)."""
        return (self.open_state, self.second_state) if self.second_state else (self.open_state,)


def rule_of(row: Any) -> Rule:
    """The rule a request was opened under (rows of flows without one need one approval)."""
    return Rule(getattr(row, "approval_rule", None) or Rule.ONE)


async def deciders(session: AsyncSession, flow: Flow[Any], row: Any) -> list[str]:
    """The Slack users who may decide this request now: active, of a role that decides (an
    admin under the admin rule), neither its requester nor its first approver."""
    roles = [Role.ADMIN] if rule_of(row) is Rule.ADMIN else roles_that_may(flow.decide)
    others = {row.requester_username, getattr(row, "first_approver_username", None)}
    return [
        str(p.slack_user_id)
        for p in await active_people(session, roles)
        if p.username not in others
    ]


def roles_that_may(action: Action) -> list[Role]:
    return [role for role in Role if allowed(role, action)]


async def active_people(session: AsyncSession, roles: Sequence[Role]) -> Sequence[PortalUser]:
    """The active portal users of these roles who have a Slack user, by username."""
    people = await session.scalars(
        select(PortalUser)
        .where(
            PortalUser.active.is_(True),
            PortalUser.role.in_([role.value for role in roles]),
            PortalUser.slack_user_id.is_not(None),
        )
        .order_by(PortalUser.username)
    )
    return people.all()
