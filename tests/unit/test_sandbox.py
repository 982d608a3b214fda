"""The sandbox processor against a real SQLite database: refunds, disputes, returns, settlement,
the event feed, history paging and search, and seed data."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.base import Base
from bot.db.engine import SessionFactory, create_engine, create_session_factory
from bot.domain import (
    Account,
    AccountBalance,
    DisputeStatus,
    EventBatch,
    EventType,
    HistorySort,
    LineItem,
    MethodType,
    Money,
    PaymentKind,
    RefundStatus,
    Transaction,
    TransactionQuery,
    TransactionStatus,
    WithdrawalStatus,
)
from bot.errors import NotFound, ProcessorError
from bot.evidence import DisputeEvidence
from bot.processors.gateway import Gateway
from bot.processors.sandbox import SandboxGateway, SandboxSimulator
from bot.processors.sandbox.fees import Fees
from bot.processors.sandbox.models import SandboxEvent, SandboxTransaction

START = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)  # a Monday afternoon
ID = re.compile(r"(txn|re|dp|rt|wd|evt)_[0-9a-z]{20}")
EVIDENCE = DisputeEvidence(summary="Signed engagement letter; services delivered on 2026-11-02.")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def _database(path: Path) -> tuple[Any, SessionFactory]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    return engine, create_session_factory(engine)


@pytest.fixture
def sandbox_db(session_factory: SessionFactory) -> SessionFactory:
    """The shared fixture's database: a fresh SQLite file migrated to the whole schema."""
    return session_factory


@pytest.fixture
def gateway(sandbox_db: SessionFactory, clock: ManualClock) -> SandboxGateway:
    return SandboxGateway(sandbox_db, clock)


@pytest.fixture
def simulator(sandbox_db: SessionFactory, clock: ManualClock) -> SandboxSimulator:
    return SandboxSimulator(sandbox_db, clock)


async def charge(
    simulator: SandboxSimulator, amount: str = "125.50", **options: Any
) -> Transaction:
    values: dict[str, Any] = {
        "method": MethodType.CARD,
        "kind": PaymentKind.SALE,
        "matter_id": "MAT-1001",
        "account": Account.OPERATING,
        "brand": "visa",
        "last4": "4242",
        "customer_name": "Dana Client",
    }
    values.update(options)
    return await simulator.charge(Money.parse(amount), **values)


async def count(sessions: SessionFactory, *where: Any, model: Any = SandboxTransaction) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def no_floats(value: Any) -> None:
    """Money is integer minor units everywhere: in domain objects, records and events."""
    assert not isinstance(value, float), value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            no_floats(getattr(value, item.name))
    elif isinstance(value, dict):
        for item in value.values():
            no_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            no_floats(item)


def test_the_gateway_implements_the_protocol(gateway: SandboxGateway) -> None:
    assert isinstance(gateway, Gateway)
    assert gateway.name == "sandbox"


# --- payments ----------------------------------------------------------------------------------


async def test_a_payment_reads_back_with_its_items(
    simulator: SandboxSimulator, gateway: SandboxGateway
) -> None:
    items = [
        LineItem("Invoice INV-1042", Money.parse("100.00")),
        LineItem("Invoice INV-1043", Money.parse("25.50")),
    ]
    made = await charge(simulator, "125.50", items=items, account=Account.TRUST)
    assert ID.fullmatch(made.id) and made.id.startswith("txn_")
    read = await gateway.get_transaction(made.id)
    assert read == made
    assert read.amount == Money(12550, "USD")
    assert read.items == tuple(items)
    assert read.status is TransactionStatus.SUCCEEDED
    assert read.account is Account.TRUST
    assert str(read.method) == "Visa •••• 4242"
    assert await gateway.get_transaction(made.id[:-1]) is None  # never a near match
    assert await gateway.get_transaction(made.id.upper()) is None


async def test_an_uncaptured_authorization_is_authorized(simulator: SandboxSimulator) -> None:
    held = await charge(simulator, kind=PaymentKind.AUTHORIZATION, captured=False)
    assert held.status is TransactionStatus.AUTHORIZED
    captured = await charge(simulator, kind=PaymentKind.AUTHORIZATION)
    assert captured.status is TransactionStatus.SUCCEEDED


@pytest.mark.parametrize(
    "options",
    [
        {"last4": "4242424242424242"},  # a full card number never enters the sandbox
        {"items": [LineItem("Invoice INV-1", Money.parse("100.00"))]},  # does not add up
        {"kind": PaymentKind.REFUND},
        {"kind": PaymentKind.SALE, "captured": False},
    ],
)
async def test_charges_that_a_processor_refuses(
    simulator: SandboxSimulator, options: dict[str, Any]
) -> None:
    with pytest.raises(ProcessorError):
        await charge(simulator, **options)


# --- refunds -----------------------------------------------------------------------------------


async def test_a_refund_is_a_pending_refund_transaction_until_settled(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    payment = await charge(simulator, "300.00")
    refund = await gateway.refund(payment.id, idempotency_key="rr-1", metadata={"by": "ana"})
    assert refund.id.startswith("re_") and ID.fullmatch(refund.id)
    assert refund.amount == payment.amount  # full refunds only
    assert refund.status is RefundStatus.PENDING
    assert await gateway.get_refund(refund.id) == refund
    assert await gateway.get_refund(payment.id) is None

    refunded = await gateway.get_transaction(payment.id)
    assert refunded is not None and refunded.refunds == (refund,)
    as_transaction = await gateway.get_transaction(refund.id)
    assert as_transaction is not None
    assert as_transaction.kind is PaymentKind.REFUND
    assert as_transaction.original_id == payment.id
    assert as_transaction.status is TransactionStatus.PENDING

    record = await simulator.show(payment.id)
    (shown,) = record["refunds"]
    assert shown["settles_at"] == (START + timedelta(days=1)).isoformat()  # next business day
    assert shown["metadata"] == {"by": "ana"}

    clock.advance(days=1)
    result = await simulator.settle()
    assert [settled.id for settled in result.refunds] == [refund.id]
    settled = await gateway.get_refund(refund.id)
    assert settled is not None and settled.status is RefundStatus.SUCCEEDED
    assert settled.settled_at == clock.now


async def test_an_ach_refund_settles_two_business_days_later(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    clock.now = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # a Friday
    payment = await charge(simulator, method=MethodType.ACH, brand=None, last4="6789")
    refund = await gateway.refund(payment.id, idempotency_key="ach", metadata={})
    shown = (await simulator.show(payment.id))["refunds"][0]
    assert shown["id"] == refund.id
    assert shown["settles_at"] == datetime(2026, 11, 24, 16, 0, tzinfo=UTC).isoformat()


async def test_twenty_concurrent_refunds_with_one_key_make_one_refund(
    simulator: SandboxSimulator, gateway: SandboxGateway, sandbox_db: SessionFactory
) -> None:
    payment = await charge(simulator)
    refunds = await asyncio.gather(
        *(gateway.refund(payment.id, idempotency_key="same", metadata={}) for _ in range(20))
    )
    assert len({refund.id for refund in refunds}) == 1
    assert await count(sandbox_db, SandboxTransaction.kind == "refund") == 1
    assert await count(sandbox_db, SandboxEvent.type == "refund.updated", model=SandboxEvent) == 1
    again = await gateway.refund(payment.id, idempotency_key="same", metadata={})
    assert again == refunds[0]


async def test_twenty_concurrent_refunds_with_different_keys_make_one_refund(
    simulator: SandboxSimulator, gateway: SandboxGateway, sandbox_db: SessionFactory
) -> None:
    payment = await charge(simulator)
    outcomes = await asyncio.gather(
        *(gateway.refund(payment.id, idempotency_key=f"k{n}", metadata={}) for n in range(20)),
        return_exceptions=True,
    )
    made = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ProcessorError)]
    assert len(made) == 1 and len(refused) == 19
    assert all("already been refunded" in str(error) for error in refused)
    assert await count(sandbox_db, SandboxTransaction.kind == "refund") == 1


async def test_a_key_belongs_to_one_transaction(
    simulator: SandboxSimulator, gateway: SandboxGateway
) -> None:
    first, second = await charge(simulator), await charge(simulator)
    await gateway.refund(first.id, idempotency_key="k", metadata={})
    with pytest.raises(ProcessorError, match="already used"):
        await gateway.refund(second.id, idempotency_key="k", metadata={})


async def _refunded(sim: SandboxSimulator, gw: SandboxGateway) -> str:
    payment = await charge(sim)
    await gw.refund(payment.id, idempotency_key="first", metadata={})
    return payment.id


async def _a_refund(sim: SandboxSimulator, gw: SandboxGateway) -> str:
    payment = await charge(sim)
    return (await gw.refund(payment.id, idempotency_key="first", metadata={})).id


async def _uncaptured(sim: SandboxSimulator, gw: SandboxGateway) -> str:
    return (await charge(sim, kind=PaymentKind.AUTHORIZATION, captured=False)).id


async def _failed(sim: SandboxSimulator, gw: SandboxGateway) -> str:
    return (await charge(sim, declined=True)).id


async def _returned(sim: SandboxSimulator, gw: SandboxGateway) -> str:
    payment = await charge(sim, method=MethodType.ACH, brand=None, last4="6789")
    await sim.return_payment(payment.id, "R01")
    return payment.id


async def _disputed(sim: SandboxSimulator, gw: SandboxGateway) -> str:
    payment = await charge(sim)
    await sim.dispute(payment.id, network_code="13.1")
    return payment.id


async def _missing(sim: SandboxSimulator, gw: SandboxGateway) -> str:
    return "txn_00000000000000000000"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_a_refund, "itself a refund"),
        (_refunded, "already been refunded"),
        (_uncaptured, "never captured"),
        (_failed, "failed"),
        (_returned, "returned by the customer's bank (R01)"),
        (_disputed, "under dispute"),
        (_missing, "no transaction"),
    ],
)
async def test_refusals(
    simulator: SandboxSimulator, gateway: SandboxGateway, make: Any, words: str
) -> None:
    transaction_id = await make(simulator, gateway)
    with pytest.raises(ProcessorError) as refused:
        await gateway.refund(transaction_id, idempotency_key="second", metadata={})
    assert words in refused.value.message
    assert refused.value.retryable is False


async def test_a_captured_authorization_can_be_refunded(
    simulator: SandboxSimulator, gateway: SandboxGateway
) -> None:
    payment = await charge(simulator, kind=PaymentKind.AUTHORIZATION)
    refund = await gateway.refund(payment.id, idempotency_key="auth", metadata={})
    assert refund.transaction_id == payment.id


# --- disputes ----------------------------------------------------------------------------------


async def test_a_dispute_from_creation_to_review_and_decision(
    simulator: SandboxSimulator, gateway: SandboxGateway, sandbox_db: SessionFactory
) -> None:
    payment = await charge(simulator, "980.00", matter_id="MAT-1007")
    dispute = await simulator.dispute(payment.id, network_code="10.4")
    assert dispute.id.startswith("dp_") and ID.fullmatch(dispute.id)
    assert dispute.status is DisputeStatus.NEEDS_RESPONSE
    assert dispute.reason == "Other Fraud \N{EN DASH} Card-Absent Environment"
    assert dispute.network_reason_code == "10.4"
    assert dispute.respond_by == START + timedelta(days=10)
    assert dispute.amount == payment.amount and dispute.matter_id == "MAT-1007"
    assert await gateway.get_dispute(dispute.id) == dispute
    disputed = await gateway.get_transaction(payment.id)
    assert disputed is not None and disputed.disputes == (dispute,)

    submitted = await asyncio.gather(
        *(
            gateway.submit_dispute_evidence(dispute.id, EVIDENCE, idempotency_key="ev-1")
            for _ in range(20)
        )
    )
    assert {item.status for item in submitted} == {DisputeStatus.UNDER_REVIEW}
    assert {item.evidence_submitted_at for item in submitted} == {START}
    updates = SandboxEvent.type == "dispute.updated"
    assert await count(sandbox_db, updates, model=SandboxEvent) == 1
    with pytest.raises(ProcessorError, match="already submitted"):
        await gateway.submit_dispute_evidence(dispute.id, EVIDENCE, idempotency_key="ev-2")
    with pytest.raises(ProcessorError, match="under review"):
        await gateway.accept_dispute(dispute.id, idempotency_key="acc")
    shown = (await simulator.show(payment.id))["disputes"][0]
    assert shown["evidence"]["summary"] == EVIDENCE.summary

    won = await simulator.resolve_dispute(dispute.id, won=True)
    assert won.status is DisputeStatus.WON
    with pytest.raises(ProcessorError, match="closed"):
        await simulator.resolve_dispute(dispute.id, won=False)
    with pytest.raises(ProcessorError, match="closed"):
        await gateway.submit_dispute_evidence(dispute.id, EVIDENCE, idempotency_key="ev-3")


async def test_accepting_a_dispute(simulator: SandboxSimulator, gateway: SandboxGateway) -> None:
    payment = await charge(simulator)
    dispute = await simulator.dispute(payment.id, reason="not received")
    assert (dispute.network_reason_code, dispute.reason) == (
        "13.1",
        "Merchandise/Services Not Received",
    )
    accepted = await gateway.accept_dispute(dispute.id, idempotency_key="acc")
    assert accepted.status is DisputeStatus.ACCEPTED
    assert await gateway.accept_dispute(dispute.id, idempotency_key="acc") == accepted
    with pytest.raises(ProcessorError):
        await simulator.resolve_dispute(dispute.id, won=True)


async def test_evidence_after_the_deadline_is_refused(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    dispute = await simulator.dispute((await charge(simulator)).id)
    clock.advance(days=10, seconds=1)
    with pytest.raises(ProcessorError, match="deadline"):
        await gateway.submit_dispute_evidence(dispute.id, EVIDENCE, idempotency_key="late")
    lost = await simulator.resolve_dispute(dispute.id, won=False)
    assert lost.status is DisputeStatus.LOST


async def test_disputes_a_network_would_not_raise(simulator: SandboxSimulator) -> None:
    ach = await charge(simulator, method=MethodType.ACH, brand=None, last4="6789")
    with pytest.raises(ProcessorError, match="ACH"):
        await simulator.dispute(ach.id)
    card = await charge(simulator)
    with pytest.raises(ProcessorError, match="not a dispute code"):
        await simulator.dispute(card.id, network_code="99.9")
    await simulator.dispute(card.id)
    with pytest.raises(ProcessorError, match="already been disputed"):
        await simulator.dispute(card.id)
    failed = await charge(simulator, declined=True)
    with pytest.raises(ProcessorError):
        await simulator.dispute(failed.id)


async def test_disputes_list_soonest_deadline_first(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    made = []
    for _ in range(5):
        made.append(await simulator.dispute((await charge(simulator)).id))
        clock.advance(hours=1)
    await simulator.resolve_dispute(made[1].id, won=True)
    everything = await gateway.list_disputes(limit=10)
    assert [item.id for item in everything.items] == [item.id for item in made]
    open_first = await gateway.list_disputes(open_only=True, limit=2)
    assert [item.id for item in open_first.items] == [made[0].id, made[2].id]
    rest = await gateway.list_disputes(open_only=True, limit=2, cursor=open_first.next_cursor)
    assert [item.id for item in rest.items] == [made[3].id, made[4].id]
    assert rest.next_cursor is None
    back = await gateway.list_disputes(open_only=True, limit=2, cursor=rest.prev_cursor)
    assert back.items == open_first.items


# --- ACH returns -------------------------------------------------------------------------------


async def test_an_ach_return(simulator: SandboxSimulator, gateway: SandboxGateway) -> None:
    payment = await charge(simulator, "640.00", method=MethodType.ACH, brand=None, last4="6789")
    returned = await simulator.return_payment(payment.id, " r02 ")
    assert returned.id.startswith("rt_") and returned.code == "R02"
    assert returned.amount == payment.amount and returned.transaction_id == payment.id
    after = await gateway.get_transaction(payment.id)
    assert after is not None
    assert after.status is TransactionStatus.RETURNED and after.return_code == "R02"
    assert (await simulator.show(payment.id))["returns"][0]["description"] == "Account closed"
    with pytest.raises(ProcessorError, match="already returned"):
        await simulator.return_payment(payment.id, "R01")
    page = await gateway.list_returns()
    assert page.items == (returned,)


async def test_only_ach_payments_come_back_with_known_codes(simulator: SandboxSimulator) -> None:
    card = await charge(simulator)
    with pytest.raises(ProcessorError, match="card payment"):
        await simulator.return_payment(card.id, "R01")
    ach = await charge(simulator, method=MethodType.ACH, brand=None, last4="6789")
    with pytest.raises(ProcessorError, match="not a NACHA return code"):
        await simulator.return_payment(ach.id, "R99")


async def test_returns_list_newest_first(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    made = []
    for code in ("R01", "R03", "R10"):
        ach = await charge(simulator, method=MethodType.ACH, brand=None, last4="6789")
        made.append(await simulator.return_payment(ach.id, code))
        clock.advance(minutes=5)
    first = await gateway.list_returns(limit=2)
    assert [item.code for item in first.items] == ["R10", "R03"]
    second = await gateway.list_returns(limit=2, cursor=first.next_cursor)
    assert [item.code for item in second.items] == ["R01"]


# --- settlement and balance --------------------------------------------------------------------


async def test_settlement_pays_out_payments_less_refunds(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    kept = await charge(simulator, "1000.00")
    ach = await charge(simulator, "400.00", method=MethodType.ACH, brand=None, last4="6789")
    refunded = await charge(simulator, "250.00")
    await charge(simulator, "75.00", kind=PaymentKind.AUTHORIZATION, captured=False)
    await charge(simulator, "60.00", declined=True)
    returned = await charge(simulator, "90.00", method=MethodType.ACH, brand=None, last4="1111")
    await simulator.return_payment(returned.id, "R01")
    refund = await gateway.refund(refunded.id, idempotency_key="r", metadata={})

    balance = await gateway.balance()
    assert balance.available == Money.parse("1650.00")
    assert balance.pending == Money(-25000)
    assert balance.next_withdrawal_at == datetime(2026, 11, 17, tzinfo=UTC)

    clock.advance(days=1)
    result = await simulator.settle()
    assert [item.id for item in result.refunds] == [refund.id]
    withdrawal = result.withdrawal
    assert withdrawal is not None and withdrawal.id.startswith("wd_")
    assert withdrawal.status is WithdrawalStatus.PAID
    assert withdrawal.amount == Money.parse("1400.00")
    assert set(withdrawal.transaction_ids) == {kept.id, ach.id, refunded.id, refund.id}
    assert (await gateway.list_withdrawals()).items == (withdrawal,)
    assert await gateway.balance() == dataclasses.replace(
        balance,
        available=Money(0),
        pending=Money(0),
        next_withdrawal_at=datetime(2026, 11, 18, tzinfo=UTC),
        accounts=(
            AccountBalance(Account.OPERATING, Money(0), Money(0)),
            AccountBalance(Account.TRUST, Money(0), Money(0)),
        ),
    )

    nothing = await simulator.settle()
    assert nothing.refunds == () and nothing.withdrawal is None
    clock.advance(days=1)
    late = await charge(simulator, "20.00")
    again = await simulator.settle()
    assert again.withdrawal is not None and again.withdrawal.transaction_ids == (late.id,)
    newest_first = await gateway.list_withdrawals(limit=1)
    assert newest_first.items == (again.withdrawal,)
    older = await gateway.list_withdrawals(limit=1, cursor=newest_first.next_cursor)
    assert older.items == (withdrawal,)


async def test_trust_and_operating_settle_apart_and_fees_are_operatings(
    sandbox_db: SessionFactory, gateway: SandboxGateway, clock: ManualClock
) -> None:
    simulator = SandboxSimulator(
        sandbox_db, clock, fees=Fees(percent=Decimal("2.9"), fixed_minor=30, dispute_minor=1500)
    )
    trust = await charge(simulator, "1000.00", account=Account.TRUST)
    operating = await charge(simulator, "200.00")
    refunded = await charge(simulator, "100.00", account=Account.TRUST)
    refund = await gateway.refund(refunded.id, idempotency_key="r", metadata={})
    disputed = await charge(simulator, "50.00")
    await simulator.dispute(disputed.id)
    fees = 2930 + 610 + 320 + 175 + 1500  # 2.9% + 0.30 of each payment, and the dispute fee

    balance = await gateway.balance()
    by_account = {line.account: line for line in balance.accounts}
    assert by_account[Account.TRUST].available == Money.parse("1100.00")
    assert by_account[Account.TRUST].fees is None  # trust never pays a fee
    assert by_account[Account.OPERATING].fees == Money(fees)
    assert by_account[Account.OPERATING].available == Money(25000 - fees)
    assert by_account[Account.OPERATING].pending == Money(-10000)  # the trust payment's refund

    clock.advance(days=1)
    result = await simulator.settle()
    assert [r.id for r in result.refunds] == [refund.id]
    paid_trust, paid_operating = result.of(Account.TRUST), result.of(Account.OPERATING)
    assert paid_trust is not None and paid_operating is not None
    assert set(paid_trust.transaction_ids) == {trust.id, refunded.id}
    assert paid_trust.amount == Money.parse("1100.00") and paid_trust.fees is None
    assert set(paid_operating.transaction_ids) == {operating.id, disputed.id, refund.id}
    assert paid_operating.amount == Money(25000 - 10000 - fees)
    assert paid_operating.fees == Money(fees)
    listed = (await gateway.list_withdrawals()).items
    assert {(w.id, w.account) for w in listed} == {
        (paid_trust.id, Account.TRUST),
        (paid_operating.id, Account.OPERATING),
    }
    assert (await gateway.balance()).available == Money(0)
    assert (await simulator.settle()).withdrawals == ()  # each fee is taken once


async def test_a_refund_larger_than_the_days_payments_waits(
    simulator: SandboxSimulator, gateway: SandboxGateway
) -> None:
    big = await charge(simulator, "500.00")
    assert (await simulator.settle()).withdrawal is not None
    await gateway.refund(big.id, idempotency_key="r", metadata={})
    small = await charge(simulator, "100.00")
    result = await simulator.settle()
    assert len(result.refunds) == 1 and result.withdrawal is None
    assert (await gateway.balance()).available == Money(-40000)
    await charge(simulator, "1000.00")
    paid = await simulator.settle()
    assert paid.withdrawal is not None and paid.withdrawal.amount == Money.parse("600.00")
    assert small.id in paid.withdrawal.transaction_ids


# --- events ------------------------------------------------------------------------------------


async def test_the_event_feed(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    assert await gateway.events(None) == EventBatch((), None)
    payment = await charge(simulator)
    ach = await charge(simulator, method=MethodType.ACH, brand=None, last4="6789")
    refund = await gateway.refund(payment.id, idempotency_key="r", metadata={})
    other = await charge(simulator)
    dispute = await simulator.dispute(other.id)
    await gateway.submit_dispute_evidence(dispute.id, EVIDENCE, idempotency_key="e")
    returned = await simulator.return_payment(ach.id)
    clock.advance(days=1)
    settled = await simulator.settle()
    assert settled.withdrawal is not None

    first = await gateway.events(None, limit=4)
    assert [(event.type, event.object_id) for event in first.events] == [
        (EventType.PAYMENT_CREATED, payment.id),
        (EventType.PAYMENT_CREATED, ach.id),
        (EventType.REFUND_UPDATED, refund.id),
        (EventType.PAYMENT_CREATED, other.id),
    ]
    assert first.cursor == "4"
    rest = await gateway.events(first.cursor)
    assert [(event.type, event.object_id) for event in rest.events] == [
        (EventType.DISPUTE_CREATED, dispute.id),
        (EventType.DISPUTE_UPDATED, dispute.id),
        (EventType.RETURN_CREATED, returned.id),
        (EventType.REFUND_UPDATED, refund.id),
        (EventType.WITHDRAWAL_PAID, settled.withdrawal.id),
    ]
    assert rest.events[-1].data["amount_minor"] == settled.withdrawal.amount.minor
    assert rest.events[3].data["status"] == "succeeded"
    everything = first.events + rest.events
    assert all(ID.fullmatch(event.id) and event.id.startswith("evt_") for event in everything)
    assert len({event.id for event in everything}) == len(everything)
    json.dumps([event.data for event in everything])
    no_floats([dict(event.data) for event in everything])

    unchanged = await gateway.events(rest.cursor)
    assert unchanged.events == () and unchanged.cursor == rest.cursor
    newer = await charge(simulator)
    after = await gateway.events(rest.cursor)
    assert [event.object_id for event in after.events] == [newer.id]
    with pytest.raises(ProcessorError):
        await gateway.events("not-a-cursor")


async def test_event_sequence_has_no_gaps_under_concurrent_writers(
    simulator: SandboxSimulator, gateway: SandboxGateway, sandbox_db: SessionFactory
) -> None:
    await asyncio.gather(*(charge(simulator) for _ in range(20)))
    async with sandbox_db() as session:
        seqs = list(await session.scalars(select(SandboxEvent.seq).order_by(SandboxEvent.seq)))
    assert seqs == list(range(1, 21))


# --- history: listing, paging, search ---------------------------------------------------------


async def _history(simulator: SandboxSimulator, clock: ManualClock) -> list[Transaction]:
    made = []
    amounts = ["125.50", "40.00", "980.00", "125.50", "3200.00", "15.25", "640.00", "75.00"]
    for number, amount in enumerate(amounts):
        kind = PaymentKind.AUTHORIZATION if number % 3 == 0 else PaymentKind.SALE
        made.append(
            await charge(
                simulator,
                amount,
                kind=kind,
                matter_id=f"MAT-{1001 + number % 3}",
                customer_name=["Dana Okafor", "Miguel Chen", "Harbor Point Logistics LLC"][
                    number % 3
                ],
                last4=f"{1000 + number % 4}",
            )
        )
        clock.advance(minutes=1)
    return made


async def _walk(gateway: SandboxGateway, query: TransactionQuery) -> list[Transaction]:
    seen: list[Transaction] = []
    cursor = None
    while True:
        page = await gateway.list_transactions(dataclasses.replace(query, cursor=cursor))
        seen.extend(page.items)
        assert len(page.items) <= query.limit
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


async def test_sorting_across_pages(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    made = await _history(simulator, clock)
    newest = await _walk(gateway, TransactionQuery(limit=3))
    assert [item.id for item in newest] == [item.id for item in reversed(made)]
    oldest = await _walk(gateway, TransactionQuery(sort=HistorySort.OLDEST, limit=3))
    assert [item.id for item in oldest] == [item.id for item in made]
    by_amount = await _walk(gateway, TransactionQuery(sort=HistorySort.AMOUNT, limit=3))
    expected = sorted(made, key=lambda item: (item.amount.minor, item.id), reverse=True)
    assert [item.id for item in by_amount] == [item.id for item in expected]
    authorizations = await _walk(gateway, TransactionQuery(kind=PaymentKind.AUTHORIZATION, limit=2))
    assert [item.id for item in authorizations] == [made[6].id, made[3].id, made[0].id]


async def test_pages_stay_put_while_payments_arrive(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    await _history(simulator, clock)
    first = await gateway.list_transactions(TransactionQuery(limit=3))
    assert first.prev_cursor is None and first.next_cursor is not None
    second = await gateway.list_transactions(TransactionQuery(limit=3, cursor=first.next_cursor))
    for _ in range(5):
        await charge(simulator)
        clock.advance(seconds=1)
    again = await gateway.list_transactions(TransactionQuery(limit=3, cursor=first.next_cursor))
    assert again.items == second.items
    back = await gateway.list_transactions(TransactionQuery(limit=3, cursor=second.prev_cursor))
    assert back.items == first.items
    assert back.prev_cursor is not None  # the newer payments are there to page back to
    newest = await gateway.list_transactions(TransactionQuery(limit=3, cursor=back.prev_cursor))
    assert len(newest.items) == 3 and newest.items[-1].created_at > first.items[0].created_at


async def test_cursors_are_checked(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    await _history(simulator, clock)
    page = await gateway.list_transactions(TransactionQuery(limit=3))
    assert page.next_cursor is not None
    with pytest.raises(ProcessorError, match="no longer valid"):
        await gateway.list_transactions(
            TransactionQuery(sort=HistorySort.AMOUNT, cursor=page.next_cursor)
        )
    for forged in ["garbage", page.next_cursor[:-4], "e30"]:
        with pytest.raises(ProcessorError, match="no longer valid"):
            await gateway.list_transactions(TransactionQuery(cursor=forged))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("MAT-1002", [1, 4, 7]),
        ("mat-1002 ", [1, 4, 7]),
        ("MAT-100", []),  # a matter id is matched whole
        ("okafor", [0, 3, 6]),
        ("HARBOR point", [2, 5]),
        ("1001", [1, 5]),  # last four
        ("125.50", [0, 3]),
        ("$125.5", [0, 3]),
        ("3,200.00", [4]),
        ("nobody", []),
    ],
)
async def test_search(
    simulator: SandboxSimulator,
    gateway: SandboxGateway,
    clock: ManualClock,
    typed: str,
    expected: list[int],
) -> None:
    made = await _history(simulator, clock)
    found = await _walk(gateway, TransactionQuery(search=typed, limit=2))
    assert [item.id for item in found] == [made[number].id for number in reversed(expected)]


async def test_search_by_the_start_of_an_id(
    simulator: SandboxSimulator, gateway: SandboxGateway, clock: ManualClock
) -> None:
    made = await _history(simulator, clock)
    refund = await gateway.refund(made[2].id, idempotency_key="r", metadata={})
    target = made[5].id
    found = await _walk(gateway, TransactionQuery(search=target[:12].upper(), limit=5))
    assert target in [item.id for item in found]
    assert all(item.id.startswith(target[:12]) for item in found)
    refunds = await _walk(gateway, TransactionQuery(search="re_", limit=5))
    assert [item.id for item in refunds] == [refund.id]
    by_kind = await _walk(gateway, TransactionQuery(kind=PaymentKind.REFUND, search="okafor"))
    assert by_kind == []
    assert [
        item.id for item in await _walk(gateway, TransactionQuery(kind=PaymentKind.REFUND))
    ] == [refund.id]


# --- the processor's own record, ids and money -------------------------------------------------


async def test_show_is_the_processors_json_record(
    simulator: SandboxSimulator, gateway: SandboxGateway
) -> None:
    payment = await charge(simulator, "410.00")
    refund = await gateway.refund(payment.id, idempotency_key="r", metadata={"request": "7"})
    card = await charge(simulator, "55.00")
    dispute = await simulator.dispute(card.id, network_code="12.6.1")
    record = await simulator.show(payment.id)
    json.dumps(record)
    assert record["id"] == payment.id and record["amount_minor"] == 41000
    assert record["amount"] == "410.00 USD"
    assert [(item["id"], item["status"]) for item in record["refunds"]] == [(refund.id, "pending")]
    disputed = await simulator.show(card.id)
    assert [(item["id"], item["status"]) for item in disputed["disputes"]] == [
        (dispute.id, "needs_response")
    ]
    assert disputed["disputes"][0]["reason"] == "Duplicate Processing"
    no_floats(record)
    no_floats(disputed)
    no_floats(await gateway.get_transaction(payment.id))
    with pytest.raises(NotFound):
        await simulator.show("txn_missing")


async def test_ids_are_reproducible_when_seeded(tmp_path: Path, clock: ManualClock) -> None:
    made = []
    for name in ("one", "two"):
        engine, sessions = await _database(tmp_path / f"{name}.db")
        sim = SandboxSimulator(sessions, clock, seed=3)
        gw = SandboxGateway(sessions, clock, seed=3)
        payment = await charge(sim)
        refund = await gw.refund(payment.id, idempotency_key="k", metadata={})
        made.append((payment.id, refund.id, (await gw.events(None)).events))
        await engine.dispose()
    assert made[0] == made[1]
    assert ID.fullmatch(made[0][0]) and ID.fullmatch(made[0][1])


# --- seed data ---------------------------------------------------------------------------------


async def test_seed_is_deterministic(tmp_path: Path, clock: ManualClock) -> None:
    pages = []
    for name in ("one", "two"):
        engine, sessions = await _database(tmp_path / f"{name}.db")
        assert await SandboxSimulator(sessions, clock).seed(400, seed=11) == 400
        gw = SandboxGateway(sessions, clock)
        pages.append(
            (
                await _walk(gw, TransactionQuery(limit=100)),
                (await gw.list_disputes(limit=100)).items,
                (await gw.events(None, limit=1000)).events,
            )
        )
        await engine.dispose()
    assert pages[0] == pages[1]
    assert len(pages[0][0]) == 400


async def test_seed_a_hundred_thousand(
    simulator: SandboxSimulator, gateway: SandboxGateway, sandbox_db: SessionFactory
) -> None:
    started = time.perf_counter()
    assert await simulator.seed(100_000) == 100_000
    print(f"\nseeded 100,000 transactions in {time.perf_counter() - started:.1f} s")
    assert await count(sandbox_db) == 100_000

    async with sandbox_db() as session:
        mix = set(
            (
                await session.execute(
                    select(
                        SandboxTransaction.kind,
                        SandboxTransaction.method,
                        SandboxTransaction.account,
                        SandboxTransaction.status,
                    ).distinct()
                )
            ).all()
        )
        matters = await session.scalar(
            select(func.count(func.distinct(SandboxTransaction.matter_id)))
        )
        oldest = await session.scalar(select(func.min(SandboxTransaction.created_at)))
    assert {(kind, method, account) for kind, method, account, _ in mix} >= {
        (kind, method, account)
        for kind in ("sale", "authorization", "refund")
        for method in ("card", "ach")
        for account in ("operating", "trust")
    }
    assert {status for *_, status in mix} == {
        "succeeded", "pending", "failed", "authorized", "voided", "returned"
    }  # fmt: skip
    assert matters == 40
    assert oldest is not None and START - timedelta(days=91) < oldest < START - timedelta(days=89)

    refunds = await _walk(gateway, TransactionQuery(kind=PaymentKind.REFUND, limit=100))
    assert {item.status for item in refunds} == {
        TransactionStatus.PENDING,
        TransactionStatus.SUCCEEDED,
    }
    open_disputes = await gateway.list_disputes(open_only=True, limit=100)
    due_soon = [
        item
        for item in open_disputes.items
        if item.status is DisputeStatus.NEEDS_RESPONSE
        and START < item.respond_by < START + timedelta(days=3)
    ]
    assert len(due_soon) >= 2
    all_disputes = await gateway.list_disputes(limit=100)
    assert {item.status for item in all_disputes.items} >= {
        DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.UNDER_REVIEW
    }  # fmt: skip
    returns = await gateway.list_returns(limit=100)
    assert returns.items and all(item.code.startswith("R") for item in returns.items)
    withdrawals = await gateway.list_withdrawals(limit=100)
    assert len(withdrawals.items) >= 55  # a payout each business day
    assert all(item.amount.minor > 0 for item in withdrawals.items)
    balance = await gateway.balance()
    assert balance.available.minor > 0 and balance.pending.minor < 0

    sample = await gateway.list_transactions(TransactionQuery(search="MAT-1001", limit=5))
    assert all(item.matter_id == "MAT-1001" for item in sample.items)
    for item in sample.items:
        if item.kind is not PaymentKind.REFUND:
            assert sum(line.amount.minor for line in item.items) == item.amount.minor
    no_floats(list(sample.items))
