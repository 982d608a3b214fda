"""The four-eyes machine against a real SQLite database: every transition and every refusal."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.acceptance import AcceptanceState
from bot.clock import ManualClock
from bot.db.models import AuditEntry, DisputeResponse, Job, OutboxMessage, RefundRequest
from bot.domain import (
    Dispute,
    DisputeStatus,
    Money,
    PortalAccount,
    RefundRequestInfo,
    RefundState,
    ResponseState,
    Source,
)
from bot.errors import Denied, FormErrors, RefundRefused
from bot.evidence import DisputeEvidence
from bot.ids import JobKind, Milestone, NoticeKind
from bot.pan import random_id
from bot.policy import Policy, Rule, SecondApproval
from bot.roles import Action
from bot.services import disputes, refunds
from bot.services.acceptances import Acceptances
from bot.services.access import RoleDenied
from bot.services.approvals import REASON_MAX, Approvals, check_reason
from bot.services.audit import AuditRecord, Outcome
from bot.services.owed import RefundsOwed
from bot.services.users import NewUser
from bot.store import Store


def person(username: str, role: str = "manager", *, active: bool = True) -> PortalAccount:
    return PortalAccount(
        username, username.title(), f"{username}@firm.com", role, active, f"U{username.upper()}"
    )


STAFF = person("sam", "staff")
APPROVALS = "C0APPROVALS"


@pytest.fixture
def machine(store: Store, clock: ManualClock) -> Approvals[RefundRequestInfo]:
    return Approvals(
        refunds.FLOW, store.sessions, store.services.audit, clock, RefundsOwed(APPROVALS)
    )


def refund_row(clock: ManualClock, requester: PortalAccount = STAFF, txn: str = "txn_1") -> Any:
    request_id = random_id()  # a uuid4 hex the card guard would not mask in the audit log
    return RefundRequest(
        id=request_id,
        transaction_id=txn,
        amount_minor=12550,
        currency="USD",
        account="operating",
        matter_id="M-1",
        reason="Duplicate charge",
        state=RefundState.REQUESTED.value,
        requester_username=requester.username,
        requester_slack_id=requester.slack_user_id or "",
        idempotency_key=f"paybot-refund-{request_id}",
        created_at=clock(),
        updated_at=clock(),
    )


async def create(
    machine: Approvals[RefundRequestInfo], clock: ManualClock, txn: str = "txn_1"
) -> RefundRequestInfo:
    row = refund_row(clock, txn=txn)
    return await machine.create(
        row,
        AuditRecord(
            Action.REQUEST_REFUND.value,
            Outcome.DONE,
            Source.BUTTON,
            STAFF,
            target_type="transaction",
            target_id=txn,
        ),
        RefundRefused("A refund of this payment was requested a moment ago."),
    )


async def audit_rows(store: Store, target_id: str) -> list[AuditEntry]:
    async with store.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.target_id == target_id)
                    .order_by(AuditEntry.id)
                )
            ).all()
        )


async def jobs(store: Store) -> list[tuple[str, str, dict[str, Any]]]:
    async with store.sessions() as session:
        rows = (await session.scalars(select(Job).order_by(Job.id))).all()
    return [(job.kind, job.key, job.payload) for job in rows]


async def owed(store: Store) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The messages owed to Slack: kind, key, channel, payload."""
    async with store.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [(row.kind, row.key, row.channel, row.payload) for row in rows]


async def test_create_stores_the_request_its_audit_row_and_its_message(
    store: Store, machine: Approvals[RefundRequestInfo], clock: ManualClock
) -> None:
    request = await create(machine, clock)
    assert request.state is RefundState.REQUESTED
    assert (await machine.get(request.id)) == request
    [row] = await audit_rows(store, "txn_1")
    assert (row.action, row.outcome, row.actor_username) == ("request_refund", "done", "sam")
    assert await owed(store) == [
        (NoticeKind.REFUND_REQUEST, f"refund.request:{request.id}", APPROVALS, {})
    ]
    assert await jobs(store) == [], "posting is the outbox's, not a job"


async def test_a_second_live_request_is_the_flows_duplicate_refusal_and_leaves_nothing(
    store: Store, machine: Approvals[RefundRequestInfo], clock: ManualClock
) -> None:
    await create(machine, clock)
    with pytest.raises(RefundRefused, match="a moment ago"):
        await create(machine, clock)
    assert len(await audit_rows(store, "txn_1")) == 1
    assert len(await owed(store)) == 1


async def test_approval_moves_once_with_the_decider_its_audit_row_and_its_jobs(
    store: Store, machine: Approvals[RefundRequestInfo], clock: ManualClock
) -> None:
    request = await create(machine, clock)
    mona = person("mona")
    assert (await machine.decidable(mona, request.id, Source.BUTTON)).id == request.id
    approved = await machine.decide(
        mona,
        request.id,
        Source.BUTTON,
        RefundState.APPROVED,
        [JobKind.REFUND_EXECUTE],
        Milestone.APPROVED,
    )
    assert approved.state is RefundState.APPROVED
    assert (approved.decided_by_username, approved.decided_by_slack_id) == ("mona", "UMONA")
    [decision] = await audit_rows(store, request.id)
    assert (decision.action, decision.outcome, decision.actor_username) == (
        "approve_refund",
        "done",
        "mona",
    )
    assert decision.before == {"state": "requested"}
    assert decision.after == {"state": "approved", "decided_by_slack_id": "UMONA"}
    assert await jobs(store) == [
        (JobKind.REFUND_EXECUTE, f"refund.execute:{request.id}", {"request_id": request.id})
    ]
    assert (await owed(store))[1:] == [
        (kind, f"{kind}:{request.id}:approved", APPROVALS, {"milestone": "approved"})
        for kind in (NoticeKind.REFUND_UPDATE, NoticeKind.REFUND_MILESTONE)
    ], "the approval message rendered again and a reply in its thread, no DM yet"


async def test_rejection_stores_and_audits_its_reason(
    store: Store, machine: Approvals[RefundRequestInfo], clock: ManualClock
) -> None:
    request = await create(machine, clock)
    with pytest.raises(FormErrors):
        await machine.reject(person("mona"), request.id, " \u200b ", Source.MODAL)
    rejected = await machine.reject(person("mona"), request.id, " Not a duplicate ", Source.MODAL)
    assert (rejected.state, rejected.rejection_reason) == (RefundState.REJECTED, "Not a duplicate")
    [decision] = await audit_rows(store, request.id)
    assert (decision.action, decision.reason) == ("reject_refund", "Not a duplicate")
    assert await jobs(store) == []
    assert [(key, channel) for _, key, channel, _ in await owed(store)][1:] == [
        (f"refund.update:{request.id}:rejected", APPROVALS),
        (f"refund.milestone:{request.id}:rejected", APPROVALS),
        (f"refund.dm:{request.id}:rejected:USAM", "USAM"),
    ], "the requester is told by DM"


async def test_the_requester_cannot_decide_their_own_request(
    store: Store, machine: Approvals[RefundRequestInfo], clock: ManualClock
) -> None:
    request = await create(machine, clock)
    boss = person("sam", "admin")  # same person, now with a deciding role: still four eyes
    with pytest.raises(Denied, match="four eyes"):
        await machine.decidable(boss, request.id, Source.BUTTON)
    [refusal] = await audit_rows(store, request.id)
    assert (refusal.action, refusal.outcome, refusal.actor_username) == (
        "decide_refund",
        "denied",
        "sam",
    )
    assert (await machine.get(request.id)).state is RefundState.REQUESTED


@pytest.mark.parametrize(
    "decider", [person("vic", "viewer"), person("stu", "staff"), person("old", active=False)]
)
async def test_a_role_that_does_not_decide_is_refused_and_audited(
    store: Store,
    machine: Approvals[RefundRequestInfo],
    clock: ManualClock,
    decider: PortalAccount,
) -> None:
    request = await create(machine, clock)
    with pytest.raises(RoleDenied, match="manager role or higher"):
        await machine.decidable(decider, request.id, Source.BUTTON)
    [refusal] = await audit_rows(store, request.id)
    assert (refusal.action, refusal.outcome, refusal.actor_username) == (
        "decide_refund",
        "denied",
        decider.username,
    )


async def test_an_unknown_request_is_not_found(machine: Approvals[RefundRequestInfo]) -> None:
    with pytest.raises(Exception, match="That refund request does not exist"):
        await machine.decidable(person("mona"), "nope", Source.BUTTON)


async def test_an_already_decided_request_is_refused_as_too_late_and_audited(
    store: Store, machine: Approvals[RefundRequestInfo], clock: ManualClock
) -> None:
    request = await create(machine, clock)
    await machine.decide(
        person("mona"), request.id, Source.BUTTON, RefundState.APPROVED, [], Milestone.APPROVED
    )
    with pytest.raises(RefundRefused, match="already approved by mona"):
        await machine.decidable(person("max", "admin"), request.id, Source.BUTTON)
    with pytest.raises(RefundRefused, match="already approved by mona"):
        await machine.decide(
            person("max", "admin"),
            request.id,
            Source.BUTTON,
            RefundState.REJECTED,
            [],
            Milestone.REJECTED,
            reason="x",
        )
    rows = await audit_rows(store, request.id)
    assert [(r.action, r.outcome, r.actor_username) for r in rows] == [
        ("approve_refund", "done", "mona"),
        ("decide_refund", "denied", "max"),
        ("decide_refund", "denied", "max"),
    ]
    assert (await machine.get(request.id)).rejection_reason is None


async def test_of_concurrent_decisions_one_wins_and_the_others_are_audited_as_too_late(
    store: Store, machine: Approvals[RefundRequestInfo], clock: ManualClock
) -> None:
    request = await create(machine, clock)
    deciders = [person(f"m{i}", "manager" if i % 2 else "admin") for i in range(12)]
    results = await asyncio.gather(
        *(
            machine.decide(
                who,
                request.id,
                Source.BUTTON,
                RefundState.APPROVED,
                [JobKind.REFUND_EXECUTE],
                Milestone.APPROVED,
            )
            for who in deciders
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, RefundRequestInfo)]
    lost = [r for r in results if isinstance(r, RefundRefused)]
    assert (len(won), len(lost)) == (1, 11)
    winner = won[0].decided_by_username
    assert all(f"already approved by {winner}" in r.message for r in lost)
    rows = await audit_rows(store, request.id)
    # A loser is refused where it finds out: reading the request (decide) or moving it (approve).
    assert sorted(r.outcome for r in rows) == ["denied"] * 11 + ["done"]
    assert {r.action for r in rows if r.outcome == "denied"} <= {"decide_refund", "approve_refund"}
    assert [r.actor_username for r in rows if r.outcome == "done"] == [winner]
    assert sum(kind == JobKind.REFUND_EXECUTE for kind, _, _ in await jobs(store)) == 1
    assert sum(kind == NoticeKind.REFUND_MILESTONE for kind, *_ in await owed(store)) == 1


async def test_worker_moves_follow_the_states_and_a_lost_one_is_not_audited(
    store: Store, machine: Approvals[RefundRequestInfo], clock: ManualClock
) -> None:
    request = await create(machine, clock)
    await machine.decide(
        person("mona"), request.id, Source.BUTTON, RefundState.APPROVED, [], Milestone.APPROVED
    )
    await machine.move(
        None, request.id, Source.SYSTEM, RefundState.APPROVED, RefundState.SUBMITTING
    )
    with pytest.raises(RefundRefused, match="already submitting"):
        await machine.move(
            None, request.id, Source.SYSTEM, RefundState.APPROVED, RefundState.SUBMITTING
        )
    failed = await machine.move(
        None,
        request.id,
        Source.SYSTEM,
        RefundState.SUBMITTING,
        RefundState.FAILED,
        changes={"failure_reason": "card closed"},
        milestone=Milestone.FAILED,
        reason="card closed",
    )
    assert (failed.state, failed.failure_reason) == (RefundState.FAILED, "card closed")
    assert [key for _, key, _, _ in await owed(store)][-4:] == [
        f"refund.update:{request.id}:failed",
        f"refund.milestone:{request.id}:failed",
        f"refund.dm:{request.id}:failed:USAM",
        f"refund.matter:{request.id}:failed",
    ], "a failure is told to the requester and the matter's people"
    rows = await audit_rows(store, request.id)
    assert [(r.action, r.outcome, r.actor_username, r.reason) for r in rows] == [
        ("approve_refund", "done", "mona", None),
        ("submit_refund", "done", None, None),
        ("refund_failed", "failed", None, "card closed"),
    ]


async def test_dispute_responses_are_the_same_machine_audited_on_the_dispute(
    store: Store, clock: ManualClock
) -> None:
    machine = Approvals(disputes.FLOW, store.sessions, store.services.audit, clock)
    evidence = DisputeEvidence(summary="Signed retainer", product_description="Legal services")
    row = DisputeResponse(
        id="resp1",
        dispute_id="dp_1",
        evidence=asdict(evidence),
        state=ResponseState.DRAFTED.value,
        requester_username="sam",
        requester_slack_id="USAM",
        idempotency_key="paybot-dispute-resp1",
        created_at=clock(),
        updated_at=clock(),
    )
    record = AuditRecord(
        Action.DRAFT_DISPUTE_RESPONSE.value,
        Outcome.DONE,
        Source.MODAL,
        STAFF,
        target_type="dispute",
        target_id="dp_1",
    )
    await machine.create(row, record, FormErrors({"summary": "waiting"}))
    with pytest.raises(Denied, match="You drafted this response"):
        await machine.decidable(person("sam", "admin"), "resp1", Source.BUTTON)
    await machine.decide(
        person("mona"),
        "resp1",
        Source.BUTTON,
        ResponseState.REJECTED,
        [],
        Milestone.REJECTED,
        reason="thin",
    )
    with pytest.raises(disputes.DisputeRefused, match="dispute response was already rejected"):
        await machine.decidable(person("max"), "resp1", Source.BUTTON)
    rows = await audit_rows(store, "dp_1")
    assert [(r.action, r.outcome, r.actor_username) for r in rows] == [
        ("draft_dispute_response", "done", "sam"),
        ("decide_dispute_response", "denied", "sam"),
        ("decide_dispute_response", "done", "mona"),
        ("decide_dispute_response", "denied", "max"),
    ]
    assert rows[2].after == {"state": "rejected", "response": "resp1"}
    assert rows[2].reason == "thin"


def test_one_reason_rule() -> None:
    assert check_reason("  Paid twice \u200b ") == "Paid twice"
    with pytest.raises(FormErrors) as blank:
        check_reason("\u200b \n")
    assert blank.value.errors == {"reason": "Give a reason: it is sent to everyone on the matter."}
    with pytest.raises(FormErrors) as long:
        check_reason("x" * (REASON_MAX + 1), "other_block")
    assert long.value.errors == {
        "other_block": f"Keep the reason to {REASON_MAX} characters (it has {REASON_MAX + 1})."
    }
    masked = check_reason("card 4242 4242 4242 4242 was charged twice")
    assert "4242 4242" not in masked and "•••• 4242" in masked


# -- the approval policy (bot/policy.py) --------------------------------------------------

POLICY = Policy(
    over_minor=100_000,
    remind_after=timedelta(hours=24),
    expire_after=timedelta(hours=72),
)


def policed(store: Store, clock: ManualClock, policy: Policy = POLICY) -> Approvals[Any]:
    return Approvals(
        refunds.FLOW, store.sessions, store.services.audit, clock, RefundsOwed(APPROVALS), policy
    )


async def create_under(
    machine: Approvals[RefundRequestInfo],
    clock: ManualClock,
    amount_minor: int = 150_000,
    txn: str = "txn_1",
) -> RefundRequestInfo:
    row = refund_row(clock, txn=txn)
    row.amount_minor = amount_minor
    row.approval_rule = machine.policy.rule(amount_minor).value
    return await machine.create(
        row,
        AuditRecord(Action.REQUEST_REFUND.value, Outcome.DONE, Source.MODAL, STAFF),
        RefundRefused("duplicate"),
    )


def test_the_rule_follows_the_threshold_and_the_setting() -> None:
    assert POLICY.rule(99_999) is Rule.ONE
    assert POLICY.rule(100_000) is Rule.TWO_APPROVERS, "at the threshold: two"
    assert Policy(100_000, SecondApproval.ADMIN).rule(100_000) is Rule.ADMIN
    assert Policy().rule(10**12) is Rule.ONE, "no threshold: off"


async def test_two_approvers_first_waits_for_a_second_who_is_someone_else(
    store: Store, clock: ManualClock
) -> None:
    machine = policed(store, clock)
    request = await create_under(machine, clock)
    first = await machine.approve(person("mona"), request.id, Source.BUTTON)
    assert first.state is RefundState.AWAITING_SECOND
    assert (first.first_approver_username, first.first_approver_slack_id) == ("mona", "UMONA")
    assert first.decided_by_username is None and await jobs(store) == [], "nothing sent yet"
    with pytest.raises(Denied, match="You gave the first approval"):
        await machine.approve(person("mona"), request.id, Source.BUTTON)
    with pytest.raises(Denied, match="four eyes"):
        await machine.approve(person("sam", "admin"), request.id, Source.BUTTON)
    second = await machine.approve(person("otto"), request.id, Source.BUTTON)
    assert (second.state, second.decided_by_username) == (RefundState.APPROVED, "otto")
    assert len(await jobs(store)) == 1
    keys = [key for _, key, _, _ in await owed(store)]
    assert f"refund.update:{request.id}:first_approval" in keys
    assert f"refund.milestone:{request.id}:first_approval" in keys
    done = [
        (r.action, r.actor_username, r.after["state"])
        for r in await audit_rows(store, request.id)
        if r.outcome == "done"
    ]
    assert done == [
        ("approve_refund", "mona", "awaiting_second"),
        ("approve_refund", "otto", "approved"),
    ]


async def test_twenty_concurrent_second_approvals_approve_once(
    store: Store, clock: ManualClock
) -> None:
    machine = policed(store, clock)
    request = await create_under(machine, clock)
    await machine.approve(person("mona"), request.id, Source.BUTTON)
    results = await asyncio.gather(
        *(machine.approve(person(f"boss{i % 5}"), request.id, Source.BUTTON) for i in range(20)),
        return_exceptions=True,
    )
    approved = [r for r in results if not isinstance(r, BaseException)]
    assert len(approved) == 1
    assert all(isinstance(r, RefundRefused) for r in results if isinstance(r, BaseException))
    assert len(await jobs(store)) == 1


async def test_under_the_admin_rule_only_an_admin_approves_and_a_manager_may_reject(
    store: Store, clock: ManualClock
) -> None:
    machine = policed(store, clock, Policy(100_000, SecondApproval.ADMIN))
    request = await create_under(machine, clock)
    with pytest.raises(Denied, match="needs an admin's approval"):
        await machine.approve(person("mona"), request.id, Source.BUTTON)
    approved = await machine.approve(person("ada", "admin"), request.id, Source.BUTTON)
    assert approved.state is RefundState.APPROVED, "one admin is enough"
    other = await create_under(machine, clock, 200_000, "txn_2")
    rejected = await machine.reject(person("mona"), other.id, "No", Source.MODAL)
    assert rejected.state is RefundState.REJECTED


async def test_under_the_threshold_one_approval_is_enough(store: Store, clock: ManualClock) -> None:
    machine = policed(store, clock)
    request = await create_under(machine, clock, 99_999)
    approved = await machine.approve(person("mona"), request.id, Source.BUTTON)
    assert approved.state is RefundState.APPROVED


async def test_only_the_requester_withdraws_and_only_while_it_waits(
    store: Store, clock: ManualClock
) -> None:
    machine = policed(store, clock)
    request = await create_under(machine, clock)
    await machine.approve(person("mona"), request.id, Source.BUTTON)
    with pytest.raises(Denied, match="Only sam, who asked for this refund"):
        await machine.withdraw(person("mona"), request.id, Source.BUTTON)
    withdrawn = await machine.withdraw(STAFF, request.id, Source.BUTTON)
    assert withdrawn.state is RefundState.WITHDRAWN, "from the second state too"
    with pytest.raises(RefundRefused, match="already withdrawn"):
        await machine.approve(person("otto"), request.id, Source.BUTTON)
    with pytest.raises(RefundRefused, match="already withdrawn"):
        await machine.withdraw(STAFF, request.id, Source.BUTTON)
    rows = [(r.action, r.outcome, r.actor_username) for r in await audit_rows(store, request.id)]
    assert ("withdraw_refund", "denied", "mona") in rows
    assert ("withdraw_refund", "done", "sam") in rows
    assert await jobs(store) == []


async def test_the_sweep_expires_once_and_a_late_approval_is_refused(
    store: Store, clock: ManualClock
) -> None:
    machine = policed(store, clock, Policy(100_000, expire_after=timedelta(hours=72)))
    request = await create_under(machine, clock)
    clock.advance(hours=71)
    assert await machine.sweep() == 0
    assert (await machine.get(request.id)).state is RefundState.REQUESTED
    clock.advance(hours=1)
    assert await machine.sweep() == 1
    assert await machine.sweep() == 0
    assert (await machine.get(request.id)).state is RefundState.EXPIRED
    with pytest.raises(RefundRefused, match="already expired"):
        await machine.approve(person("mona"), request.id, Source.BUTTON)
    expiries = [r for r in await audit_rows(store, request.id) if r.action == "refund_expired"]
    assert len(expiries) == 1 and "72 hours" in (expiries[0].reason or "")
    keys = [key for _, key, _, _ in await owed(store)]
    assert f"refund.dm:{request.id}:expired:USAM" in keys, "the requester told"
    assert f"refund.update:{request.id}:expired" in keys, "the message updated"


async def test_an_approval_past_the_expiry_expires_the_request_instead(
    store: Store, clock: ManualClock
) -> None:
    machine = policed(store, clock)
    request = await create_under(machine, clock)
    clock.advance(hours=72)
    with pytest.raises(RefundRefused, match="already expired"):
        await machine.approve(person("mona"), request.id, Source.BUTTON)
    assert (await machine.get(request.id)).state is RefundState.EXPIRED
    assert await jobs(store) == []


async def test_the_reminder_goes_once_to_those_who_may_decide(
    store: Store, clock: ManualClock
) -> None:
    users = store.services.users
    for name, role in (("mona", "manager"), ("ada", "admin"), ("vic", "viewer"), ("sam", "staff")):
        await users.add(
            None, NewUser(name, name.title(), f"{name}@firm.com", role, f"U{name.upper()}"),
            Source.CLI,
        )  # fmt: skip
    machine = policed(store, clock)
    request = await create_under(machine, clock)
    await machine.approve(person("mona"), request.id, Source.BUTTON)
    clock.advance(hours=23)
    assert await machine.sweep() == 0
    clock.advance(hours=2)
    assert await machine.sweep() == 1
    assert await machine.sweep() == 0
    reminded = [
        (kind, channel) for kind, key, channel, _ in await owed(store) if key.count(":reminded")
    ]
    assert reminded == [
        (NoticeKind.REFUND_MILESTONE, APPROVALS),
        (NoticeKind.REFUND_DM, "UADA"),
    ], "the thread and the one person who may still decide (not the first approver)"


async def test_a_dispute_response_is_withdrawn_by_its_drafter_alone(
    store: Store, clock: ManualClock
) -> None:
    machine = Approvals(disputes.FLOW, store.sessions, store.services.audit, clock)
    response_id = random_id()
    await machine.create(
        DisputeResponse(
            id=response_id,
            dispute_id="dp_1",
            evidence=asdict(DisputeEvidence("Delivered", "Advice")),
            state=ResponseState.DRAFTED.value,
            requester_username="sam",
            requester_slack_id="USAM",
            idempotency_key=f"paybot-dispute-{response_id}",
            created_at=clock(),
            updated_at=clock(),
        ),
        AuditRecord(Action.DRAFT_DISPUTE_RESPONSE.value, Outcome.DONE, Source.MODAL, STAFF),
        FormErrors({"summary": "waiting"}),
    )
    with pytest.raises(Denied, match="Only sam, who drafted this response"):
        await machine.withdraw(person("mona"), response_id, Source.BUTTON)
    withdrawn = await machine.withdraw(STAFF, response_id, Source.BUTTON)
    assert withdrawn.state is ResponseState.WITHDRAWN
    actions = [r.action for r in await audit_rows(store, "dp_1")]
    assert actions.count("withdraw_dispute_response") == 2  # the refusal and the withdrawal


# -- accepting a dispute: the machine's third use ------------------------------------------


def dispute_of(amount_minor: int, clock: ManualClock) -> Dispute:
    return Dispute(
        "dp_9", "txn_9", Money(amount_minor), DisputeStatus.NEEDS_RESPONSE, "Fraud", "10.4",
        clock() + timedelta(days=10), clock(),
    )  # fmt: skip


def accepting(store: Store, clock: ManualClock, policy: Policy) -> tuple[Acceptances, list[str]]:
    """The acceptances, and the disputes they accepted at the (stand-in) processor."""
    accepted: list[str] = []

    async def accept(dispute_id: str, by: str) -> Dispute:
        accepted.append(dispute_id)
        return dispute_of(0, clock)

    async def still_open(dispute_id: str) -> None:
        return None

    machine = Acceptances(
        store.sessions, store.services.audit, "C0NOTIFY", accept, still_open, clock, policy
    )
    return machine, accepted


async def test_what_accepting_needs_follows_the_policy_and_the_clicker(
    store: Store, clock: ManualClock
) -> None:
    admin_rule = Policy(100_000, SecondApproval.ADMIN)
    for policy, actor, amount, needs in (
        (POLICY, person("mona"), 99_999, None),
        (POLICY, person("mona"), 100_000, Rule.ONE),  # one more besides the clicker: two in all
        (admin_rule, person("mona"), 100_000, Rule.ADMIN),
        (admin_rule, person("ada", "admin"), 100_000, None),
        (Policy(), person("mona"), 10**9, None),
    ):
        machine, _ = accepting(store, clock, policy)
        assert machine.rule(actor, dispute_of(amount, clock)) is needs, (policy, actor, amount)


async def test_an_acceptance_request_is_approved_by_another_and_carried_out_once(
    store: Store, clock: ManualClock
) -> None:
    machine, accepted = accepting(store, clock, POLICY)
    dispute = dispute_of(250_000, clock)
    asked = await machine.request(person("meg"), dispute, Rule.ONE, Source.BUTTON)
    assert asked.state is AcceptanceState.REQUESTED
    with pytest.raises(Denied, match="four eyes"):
        await machine.approve(person("meg"), asked.id, Source.BUTTON)
    with pytest.raises(RefundRefused, match="already waiting for a second approval"):
        await machine.request(person("otto"), dispute, Rule.ONE, Source.BUTTON)
    approved = await machine.approve(person("mona"), asked.id, Source.BUTTON)
    assert approved.state is AcceptanceState.APPROVED
    assert [kind for kind, _, _ in await jobs(store)] == [JobKind.ACCEPTANCE_CARRY_OUT]
    done = await machine.carry_out(asked.id)
    again = await machine.carry_out(asked.id)
    assert done.state is again.state is AcceptanceState.ACCEPTED
    assert accepted == ["dp_9"], "accepted at the processor once"


async def test_under_the_admin_rule_a_manager_cannot_approve_an_acceptance(
    store: Store, clock: ManualClock
) -> None:
    machine, _ = accepting(store, clock, Policy(100_000, SecondApproval.ADMIN))
    asked = await machine.request(
        person("meg"), dispute_of(250_000, clock), Rule.ADMIN, Source.BUTTON
    )
    with pytest.raises(Denied, match="needs an admin's approval"):
        await machine.approve(person("mona"), asked.id, Source.BUTTON)
    approved = await machine.approve(person("ada", "admin"), asked.id, Source.BUTTON)
    assert approved.state is AcceptanceState.APPROVED
