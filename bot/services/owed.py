"""The messages each step of a request owes Slack, recorded in the outbox in the transaction of
the step itself (the approvals machine's ``Tell``): who is told of which milestone, and where."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.acceptance import DisputeAcceptanceInfo
from bot.domain import DisputeResponseInfo, RefundRequestInfo
from bot.ids import Milestone, NoticeKind
from bot.services import outbox

TOLD_BY_DM = {Milestone.SUBMITTED, Milestone.SUCCEEDED, Milestone.FAILED}
REQUESTER_TOLD = {*TOLD_BY_DM, Milestone.REJECTED, Milestone.EXPIRED}  # by DM


async def owe(
    session: AsyncSession,
    kind: NoticeKind,
    channel: str,
    object_id: str,
    now: datetime,
    *parts: str,
    **payload: object,
) -> None:
    """One message; its key is its kind, its object and ``parts``, so a step owes it once."""
    await outbox.add(
        session,
        key=":".join((kind, object_id, *parts)),
        kind=kind,
        channel=channel,
        object_id=object_id,
        payload=payload,
        now=now,
    )


class RefundsOwed:
    """A refund request: its approval message, that message rendered again at each milestone
    with a reply in its thread (and the bookkeeping checklist once settled), a DM to the
    requester, and the matter's people told (``refund.matter``: their DMs are owed then). A
    reminder is a reply in the thread and a DM to each person ``to`` who may decide it."""

    def __init__(self, channel: str | None) -> None:
        self._channel = channel

    async def __call__(
        self,
        session: AsyncSession,
        request: RefundRequestInfo,
        milestone: Milestone | None,
        now: datetime,
        /,
        to: Sequence[str] = (),
    ) -> None:
        channel, request_id = self._channel, request.id
        if not channel:
            return  # PAYBOT_APPROVALS_CHANNEL is required when the bot runs
        if milestone is None:
            await owe(session, NoticeKind.REFUND_REQUEST, channel, request_id, now)
            return
        kinds = [NoticeKind.REFUND_MILESTONE]
        if milestone is not Milestone.REMINDED:
            kinds.insert(0, NoticeKind.REFUND_UPDATE)
        for kind in kinds:
            await owe(session, kind, channel, request_id, now, milestone, milestone=milestone)
        for person in to:
            await owe(
                session, NoticeKind.REFUND_DM, person, request_id, now, milestone, person,
                milestone=milestone,
            )  # fmt: skip
        if milestone is Milestone.SUCCEEDED:
            await owe(session, NoticeKind.REFUND_CHECKLIST, channel, request_id, now)
        user = request.requester_slack_id
        if user and milestone in REQUESTER_TOLD:
            await owe(
                session, NoticeKind.REFUND_DM, user, request_id, now, milestone, user,
                milestone=milestone,
            )  # fmt: skip
        if milestone in TOLD_BY_DM and request.matter_id:
            await owe(
                session, NoticeKind.REFUND_MATTER, channel, request_id, now, milestone,
                milestone=milestone,
            )  # fmt: skip


class ResponsesOwed:
    """A dispute response: the draft, with its buttons, in the dispute's thread; at each
    milestone the draft rendered again and a reply in the thread; a reminder goes by DM to
    each person ``to`` who may decide it, and an expiry to the drafter."""

    def __init__(self, channel: str | None) -> None:
        self._channel = channel

    async def __call__(
        self,
        session: AsyncSession,
        response: DisputeResponseInfo,
        milestone: Milestone | None,
        now: datetime,
        /,
        to: Sequence[str] = (),
    ) -> None:
        channel, response_id = self._channel, response.id
        if not channel:
            return  # no dispute is announced, so there is no thread to answer in
        if milestone is None:
            await owe(session, NoticeKind.RESPONSE_DRAFT, channel, response_id, now)
            return
        kinds = [NoticeKind.RESPONSE_MILESTONE]
        if milestone is not Milestone.REMINDED:
            kinds.insert(0, NoticeKind.RESPONSE_UPDATE)
        for kind in kinds:
            await owe(session, kind, channel, response_id, now, milestone, milestone=milestone)
        people = list(to)
        if milestone is Milestone.EXPIRED and response.requester_slack_id:
            people.append(response.requester_slack_id)
        for person in people:
            await owe(
                session, NoticeKind.RESPONSE_DM, person, response_id, now, milestone, person,
                milestone=milestone,
            )  # fmt: skip


class AcceptancesOwed:
    """A request to accept a dispute: the request, with its buttons, in the dispute's thread;
    at each milestone the request rendered again and a reply in the thread (not when accepted:
    the dispute's own news says it); by DM, a reminder to each person ``to`` who may decide it,
    and a rejection, expiry or failure to the requester."""

    def __init__(self, channel: str | None) -> None:
        self._channel = channel

    async def __call__(
        self,
        session: AsyncSession,
        acceptance: DisputeAcceptanceInfo,
        milestone: Milestone | None,
        now: datetime,
        /,
        to: Sequence[str] = (),
    ) -> None:
        channel, acceptance_id = self._channel, acceptance.id
        if not channel:
            return  # no dispute is announced, so there is no thread to ask in
        if milestone is None:
            await owe(session, NoticeKind.ACCEPTANCE_REQUEST, channel, acceptance_id, now)
            return
        kinds = []
        if milestone is not Milestone.REMINDED:
            kinds.append(NoticeKind.ACCEPTANCE_UPDATE)
        if milestone is not Milestone.SUBMITTED:
            kinds.append(NoticeKind.ACCEPTANCE_MILESTONE)
        for kind in kinds:
            await owe(session, kind, channel, acceptance_id, now, milestone, milestone=milestone)
        people = list(to)
        told = (Milestone.REJECTED, Milestone.EXPIRED, Milestone.FAILED)
        if milestone in told and acceptance.requester_slack_id:
            people.append(acceptance.requester_slack_id)
        for person in people:
            await owe(
                session, NoticeKind.ACCEPTANCE_DM, person, acceptance_id, now, milestone, person,
                milestone=milestone,
            )  # fmt: skip
