"""Trust money kept apart, end to end: trust and operating paid out in separate withdrawals with
fees as operating's; a chargeback or an ACH return on a trust payment announced as a trust debit
with a cover checklist in its thread; checklists ticked by people (recorded, audited, closed),
answered within the budget by every role, stale clicks explained, open ones reminded once."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.bookkeeping import ChecklistKind
from bot.clock import FirmClock
from bot.db.models import AuditEntry, Checklist, ChecklistStep
from bot.domain import Account, MethodType, Money, RefundState
from bot.processors.sandbox import SandboxSimulator
from bot.processors.sandbox.fees import Fees
from bot.services.checklists import Checklists
from bot.workspace.slack_api import Message
from tests.conftest import APPROVALS, NOTIFY, Harness, eventually
from tests.e2e.test_home import opened_home
from tests.e2e.test_refunds import request_refund, request_row, state_is

FEES = Fees(percent=Decimal("2.9"), fixed_minor=30, dispute_minor=1500)
COVER_STEPS = ["cover_transfer", "cover_deposit", "reconcile"]


def shown(blocks: Any) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def checkboxes(message: Message) -> dict[str, Any] | None:
    for block in message.blocks or ():
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "checkboxes":
            return dict(accessory)
    return None


def ticked(message: Message) -> list[str]:
    boxes = checkboxes(message) or {}
    return [option["value"] for option in boxes.get("initial_options") or ()]


async def announced(harness: Harness, transaction_id: str) -> Message:
    """The notify channel's message about this payment, once the worker has told it."""

    async def found() -> Message | None:
        await harness.cycle()
        return next(
            (m for m in harness.fake.messages(NOTIFY) if transaction_id in shown(m.blocks)), None
        )

    message = await eventually(found, what="announcement")
    assert isinstance(message, Message)
    return message


async def cover_checklist(harness: Harness, parent: Message) -> Message:
    async def found() -> Message | None:
        await harness.cycle()
        return next(
            (m for m in harness.fake.messages(NOTIFY, thread_ts=parent.ts) if checkboxes(m)),
            None,
        )

    message = await eventually(found, what="cover checklist in the thread")
    assert isinstance(message, Message)
    return message


async def checklist_row(harness: Harness, subject_id: str) -> Checklist:
    async with harness.store.sessions() as session:
        row = await session.scalar(select(Checklist).where(Checklist.subject_id == subject_id))
    assert row is not None
    return row


async def audit_of(harness: Harness, checklist_id: str) -> list[AuditEntry]:
    async with harness.store.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.target_id == checklist_id).order_by(AuditEntry.id)
        )
        return list(rows.all())


async def tick(harness: Harness, user: str, message: Message, steps: list[str]) -> None:
    answer = await harness.slack.block_action(
        user, "checklist_tick", message=message, selected_option=steps
    )
    assert answer.status == 200
    assert harness.slack.answers[-1].seconds < 1.0, harness.slack.answers[-1]


async def trust_chargeback(harness: Harness) -> tuple[Message, Message, str]:
    """A trust payment disputed: its announcement, the cover checklist, the dispute id."""
    payment = await harness.charge("2100.00", account=Account.TRUST, matter_id="MAT-2002")
    dispute = await harness.sandbox.dispute(payment.id, reason="not_received")
    parent = await announced(harness, payment.id)
    return parent, await cover_checklist(harness, parent), dispute.id


async def test_trust_and_operating_settle_into_two_withdrawals_with_fees_as_operatings(
    harness: Harness,
) -> None:
    viewer = await harness.user("vic", "viewer")
    sandbox = SandboxSimulator(harness.store.sessions, harness.clock, fees=FEES)
    options: dict[str, Any] = {
        "method": MethodType.CARD,
        "matter_id": "MAT-1001",
        "brand": "visa",
        "last4": "4242",
        "customer_name": "Dana Client",
        "kind": "sale",
    }
    trust = await sandbox.charge(Money.parse("1000.00"), account=Account.TRUST, **options)
    operating = await sandbox.charge(Money.parse("200.00"), account=Account.OPERATING, **options)
    fees = 2930 + 610  # 2.9% + 0.30 of each payment, both taken from operating
    harness.clock.advance(days=1)
    result = await sandbox.settle()
    paid_trust, paid_operating = result.of(Account.TRUST), result.of(Account.OPERATING)
    assert paid_trust is not None and paid_operating is not None
    assert paid_trust.transaction_ids == (trust.id,) and paid_trust.fees is None
    assert paid_trust.amount == Money.parse("1000.00")
    assert paid_operating.transaction_ids == (operating.id,)
    assert paid_operating.amount == Money(20000 - fees) and paid_operating.fees == Money(fees)

    listing = (await harness.slack.command(viewer, "withdrawals")).json["blocks"]
    lines = {
        block["accessory"]["value"]: block["text"]["text"]
        for block in listing
        if block.get("accessory", {}).get("action_id") == "withdrawal_payments"
    }
    trust_line = next(text for text in lines.values() if paid_trust.id in text)
    operating_line = next(text for text in lines.values() if paid_operating.id in text)
    assert trust_line.startswith("Trust · *1,000.00 USD*") and "fees" not in trust_line
    assert operating_line.startswith("Operating · *164.60 USD*")
    assert "fees 35.40 USD (operating's)" in operating_line
    assert "Trust available" in shown(listing) and "Operating available" in shown(listing)

    view = await opened_home(harness, viewer)
    (panel,) = [b for b in view["blocks"] if b.get("block_id") == "home_withdrawals"]
    text = panel["text"]["text"]
    assert "Operating: available *0.00 USD*" in text and "Trust: available *0.00 USD*" in text
    assert "Trust, latest: *1,000.00 USD*" in text and "fees 35.40 USD (operating's)" in text
    assert "home_checklists" not in shown(view["blocks"])  # a viewer ticks nothing


async def test_a_trust_chargeback_is_a_trust_debit_whose_checklist_two_people_complete(
    either_harness: Harness,
) -> None:
    harness = either_harness  # on SQLite and on PostgreSQL
    sam = await harness.user("sam", "staff")
    meg = await harness.user("meg", "manager")
    parent, checklist, dispute_id = await trust_chargeback(harness)
    banner = shown(parent.blocks)
    assert "Trust debit" in banner and "cover it from *operating* the same business day" in banner
    assert parent.text.startswith("Trust debit (chargeback) of 2,100.00 USD")
    assert [o["value"] for o in (checkboxes(checklist) or {})["options"]] == COVER_STEPS
    assert "Transfer 2,100.00 USD from *operating* to trust by Mon 2026-11-16" in shown(
        checklist.blocks
    )
    row = await checklist_row(harness, dispute_id)
    assert row.kind == ChecklistKind.CHARGEBACK.value and row.closed_at is None
    work = await harness.store.services.checklists.open_work()
    assert [c.subject_id for c in work.uncovered_trust_debits] == [dispute_id]
    dashboard = await opened_home(harness, sam)
    (panel,) = [b for b in dashboard["blocks"] if b.get("block_id") == "home_checklists"]
    assert "*Trust debit* (chargeback) 2,100.00 USD" in panel["text"]["text"]
    assert "0 of 3 done" in panel["text"]["text"]

    await tick(harness, sam, checklist, ["cover_transfer"])
    await harness.fake.wait_for(
        lambda: ticked(harness.fake.message(NOTIFY, checklist.ts)) == ["cover_transfer"],
        what="first tick shown",
    )
    updated = harness.fake.message(NOTIFY, checklist.ts)
    assert f"<@{sam}>" in shown(updated.blocks)
    await tick(harness, meg, updated, COVER_STEPS)
    await eventually(lambda: _closed(harness, dispute_id), what="checklist closed after every step")
    final = await harness.fake.wait_for(
        lambda: (m := harness.fake.message(NOTIFY, checklist.ts)) and not checkboxes(m) and m,
        what="completed checklist shown",
    )
    assert "Completed" in shown(final.blocks)
    assert f"<@{sam}>" in shown(final.blocks) and f"<@{meg}>" in shown(final.blocks)

    audit = await audit_of(harness, row.id)
    assert [(a.action, a.actor_username, (a.after or {}).get("step")) for a in audit] == [
        ("tick_checklist", "sam", "cover_transfer"),
        ("tick_checklist", "meg", "cover_deposit"),
        ("tick_checklist", "meg", "reconcile"),
        ("close_checklist", "meg", None),
    ]
    async with harness.store.sessions() as session:
        steps = (
            await session.scalars(
                select(ChecklistStep)
                .where(ChecklistStep.checklist_id == row.id)
                .order_by(ChecklistStep.position)
            )
        ).all()
    assert [(s.step, s.done_by_username) for s in steps] == [
        ("cover_transfer", "sam"),
        ("cover_deposit", "meg"),
        ("reconcile", "meg"),
    ]
    assert all(s.done_at is not None for s in steps)
    assert (await harness.store.services.checklists.open_work()).checklists == ()


async def _closed(harness: Harness, subject_id: str) -> bool:
    return (await checklist_row(harness, subject_id)).closed_at is not None


async def test_an_untick_is_recorded_and_a_tick_another_copy_did_not_show_is_kept(
    harness: Harness,
) -> None:
    sam = await harness.user("sam", "staff")
    meg = await harness.user("meg", "manager")
    _, checklist, dispute_id = await trust_chargeback(harness)
    stale_copy = copy.deepcopy(harness.fake.message_json(checklist))
    await tick(harness, sam, checklist, ["cover_transfer"])
    await harness.fake.wait_for(
        lambda: ticked(harness.fake.message(NOTIFY, checklist.ts)) == ["cover_transfer"],
        what="tick shown",
    )
    # Meg's copy was drawn before Sam's tick: her tick of step 2 leaves Sam's step 1 alone.
    answer = await harness.slack.block_action(
        meg,
        "checklist_tick",
        message={**stale_copy, "ts": checklist.ts},
        channel_id=NOTIFY,
        selected_option=["cover_deposit"],
    )
    assert answer.status == 200
    await harness.fake.wait_for(
        lambda: (
            ticked(harness.fake.message(NOTIFY, checklist.ts))
            == ["cover_transfer", "cover_deposit"]
        ),
        what="both ticks shown",
    )
    await tick(harness, sam, harness.fake.message(NOTIFY, checklist.ts), ["cover_deposit"])
    await harness.fake.wait_for(
        lambda: ticked(harness.fake.message(NOTIFY, checklist.ts)) == ["cover_deposit"],
        what="untick shown",
    )
    row = await checklist_row(harness, dispute_id)
    actions = [(a.action, a.actor_username) for a in await audit_of(harness, row.id)]
    assert actions == [
        ("tick_checklist", "sam"),
        ("tick_checklist", "meg"),
        ("untick_checklist", "sam"),
    ]


async def test_every_role_is_answered_within_the_budget_and_refused_roles_told_why(
    harness: Harness,
) -> None:
    people = {
        role: await harness.user(name, role)
        for name, role in (("vic", "viewer"), ("sam", "staff"), ("meg", "manager"))
    }
    people["admin"] = await harness.user("ada", "admin")
    _, checklist, dispute_id = await trust_chargeback(harness)
    for role, user in people.items():
        current = harness.fake.message(NOTIFY, checklist.ts)
        await tick(harness, user, current, ["cover_transfer"] if role != "manager" else [])
        await harness.cycle()
    told = await harness.fake.wait_for(
        lambda: [m.text for m in harness.fake.ephemerals(people["viewer"])], what="refusal"
    )
    assert any("needs the staff role" in text for text in told), told
    row = await checklist_row(harness, dispute_id)
    actions = [(a.action, a.actor_username) for a in await audit_of(harness, row.id)]
    # staff ticked, the manager unticked, the admin ticked again; the viewer changed nothing
    assert actions == [
        ("tick_checklist", "sam"),
        ("untick_checklist", "meg"),
        ("tick_checklist", "ada"),
    ]


async def test_a_stale_click_explains_itself(harness: Harness) -> None:
    sam = await harness.user("sam", "staff")
    _, checklist, dispute_id = await trust_chargeback(harness)
    open_copy = copy.deepcopy(harness.fake.message_json(checklist))
    await tick(harness, sam, checklist, COVER_STEPS)
    await eventually(lambda: _closed(harness, dispute_id), what="closed")

    answer = await harness.slack.block_action(
        sam,
        "checklist_tick",
        message={**open_copy, "ts": checklist.ts},
        channel_id=NOTIFY,
        selected_option=COVER_STEPS[:1],
    )
    assert answer.status == 200
    await harness.fake.wait_for(
        lambda: any("was completed on" in m.text for m in harness.fake.ephemerals(sam)),
        what="closed checklist explained",
    )
    # A copy of another message (an old post) of an open checklist, and a checklist unknown.
    _, second, _ = await trust_chargeback(harness)
    old_post = {**copy.deepcopy(harness.fake.message_json(second)), "ts": "1700000000.000001"}
    await harness.slack.block_action(
        sam, "checklist_tick", message=old_post, channel_id=NOTIFY, selected_option=COVER_STEPS[:1]
    )
    await harness.fake.wait_for(
        lambda: any("old copy of the checklist" in m.text for m in harness.fake.ephemerals(sam)),
        what="old copy explained",
    )
    await harness.slack.block_action(
        sam, "checklist_tick", block_id="checklist:gone", channel_id=NOTIFY, selected_option=[]
    )
    await harness.fake.wait_for(
        lambda: any("no longer kept" in m.text for m in harness.fake.ephemerals(sam)),
        what="unknown checklist explained",
    )


async def test_an_ach_return_on_trust_is_a_trust_debit_too(harness: Harness) -> None:
    payment = await harness.charge(
        "900.00", account=Account.TRUST, method=MethodType.ACH, brand=None, last4="6789"
    )
    returned = await harness.sandbox.return_payment(payment.id, "R01")
    parent = await announced(harness, payment.id)
    assert "Trust debit" in shown(parent.blocks) and "ACH return" in shown(parent.blocks)
    checklist = await cover_checklist(harness, parent)
    assert "ACH return" in shown(checklist.blocks)
    assert (await checklist_row(harness, returned.id)).kind == ChecklistKind.ACH_RETURN.value
    # An operating payment's return is no trust debit: no checklist.
    other = await harness.charge(
        "50.00", method=MethodType.ACH, brand=None, last4="1111", matter_id="MAT-1002"
    )
    await harness.sandbox.return_payment(other.id, "R01")
    told = await announced(harness, other.id)
    assert "Trust debit" not in shown(told.blocks)
    await harness.cycle()
    assert harness.fake.messages(NOTIFY, thread_ts=told.ts) == []


async def test_an_open_checklist_is_reminded_once_across_restarts(harness: Harness) -> None:
    await harness.user("sam", "staff")
    parent, checklist, dispute_id = await trust_chargeback(harness)
    services = harness.store.services

    def reminders() -> list[Message]:
        replies = harness.fake.messages(NOTIFY, thread_ts=parent.ts)
        return [m for m in replies if "still open" in m.text]

    harness.clock.advance(days=1)  # Tuesday: one business day, not yet two
    await harness.cycle()
    assert reminders() == []
    harness.clock.advance(days=1, hours=1)  # Wednesday afternoon: two business days passed
    await harness.cycle()
    await harness.fake.wait_for(lambda: reminders(), what="reminder")
    # Another process (or this one after a restart) checks again: nothing more is owed.
    again = Checklists(
        services.sessions, services.audit, FirmClock(harness.clock, services.settings.zone)
    )
    assert await again.remind() == 0
    harness.clock.advance(days=3)
    await harness.cycle()
    await harness.cycle()
    assert len(reminders()) == 1
    assert "0 of 3 done" in reminders()[0].text
    assert (await checklist_row(harness, dispute_id)).reminded_at is not None
    assert checkboxes(harness.fake.message(NOTIFY, checklist.ts))  # still open, still tickable


async def test_dashboard_lists_open_checklists_for_staff_and_managers_not_viewers(
    harness: Harness,
) -> None:
    viewer = await harness.user("vic", "viewer")
    manager = await harness.user("meg", "manager")
    await trust_chargeback(harness)
    board = await opened_home(harness, manager)
    assert "home_checklists" in shown(board["blocks"])
    assert "|Open>" in shown(board["blocks"])  # a link to the checklist in its thread
    quiet = await opened_home(harness, viewer)
    assert "home_checklists" not in shown(quiet["blocks"])


async def test_each_tick_updates_the_one_message(harness: Harness) -> None:
    """Each tick renders the same message again (chat.update), never a new post."""
    sam = await harness.user("sam", "staff")
    parent, checklist, _ = await trust_chargeback(harness)
    before = len(harness.fake.messages(NOTIFY, thread_ts=parent.ts))
    for steps in (COVER_STEPS[:1], COVER_STEPS[:2]):
        await tick(harness, sam, harness.fake.message(NOTIFY, checklist.ts), steps)
        await harness.fake.wait_for(
            lambda s=steps: ticked(harness.fake.message(NOTIFY, checklist.ts)) == s,
            what="update",
        )
    await harness.cycle()
    assert len(harness.fake.messages(NOTIFY, thread_ts=parent.ts)) == before


async def test_a_trust_refunds_bookkeeping_checklist_is_ticked_and_closed(
    harness: Harness,
) -> None:
    sam = await harness.user("sam", "staff")
    meg = await harness.user("meg", "manager")
    payment = await harness.charge("75.00", account=Account.TRUST)
    parent = await request_refund(harness, sam, payment.id, "Retainer not used")
    await harness.slack.block_action(meg, "refund_approve", message=parent)
    await eventually(lambda: state_is(harness, payment.id, RefundState.PENDING), what="sent")
    await harness.sandbox.settle()
    await harness.store.services.refunds.check_pending()
    checklist = await harness.fake.wait_for(
        lambda: next(
            (m for m in harness.fake.messages(APPROVALS, thread_ts=parent.ts) if checkboxes(m)),
            None,
        ),
        what="bookkeeping checklist",
    )
    steps = [o["value"] for o in (checkboxes(checklist) or {})["options"]]
    assert steps == ["reverse_invoice", "trust_payment", "firm_deposit", "bank_transfer"]
    await tick(harness, sam, checklist, steps[:2])
    await harness.fake.wait_for(
        lambda: ticked(harness.fake.message(APPROVALS, checklist.ts)) == steps[:2],
        what="two ticked",
    )
    await tick(harness, meg, harness.fake.message(APPROVALS, checklist.ts), steps)
    request = await request_row(harness, payment.id)
    await eventually(lambda: _closed(harness, request.id), what="closed")
    done = await harness.fake.wait_for(
        lambda: (m := harness.fake.message(APPROVALS, checklist.ts)) and not checkboxes(m) and m,
        what="completed shown",
    )
    assert "Completed" in shown(done.blocks)
    row = await checklist_row(harness, request.id)
    assert row.kind == ChecklistKind.REFUND.value
    people = [(a.action, a.actor_username) for a in await audit_of(harness, row.id)]
    assert people == [
        ("tick_checklist", "sam"),
        ("tick_checklist", "sam"),
        ("tick_checklist", "meg"),
        ("tick_checklist", "meg"),
        ("close_checklist", "meg"),
    ]


async def test_the_dashboard_flags_a_refund_past_its_expected_day(harness: Harness) -> None:
    sam = await harness.user("sam", "staff")
    meg = await harness.user("meg", "manager")
    payment = await harness.charge("60.00")
    parent = await request_refund(harness, sam, payment.id, "Paid twice")
    await harness.slack.block_action(meg, "refund_approve", message=parent)
    await eventually(lambda: state_is(harness, payment.id, RefundState.PENDING), what="sent")
    before = await opened_home(harness, sam)
    assert "past their expected day" not in shown(before["blocks"])
    harness.clock.advance(days=3)  # Monday's request was expected by Wednesday
    late = shown((await opened_home(harness, sam, after=before["hash"]))["blocks"])
    assert "Refunds past their expected day" in late and "expected by Wed 2026-11-18" in late
