"""The sandbox's seed data: forty matters, their payers, and a plan writing 90 days of history."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text

from bot.clock import add_business_days, is_business_day
from bot.db.engine import SessionFactory
from bot.domain import (
    Account,
    DisputeStatus,
    EventType,
    MethodType,
    PaymentKind,
    RefundStatus,
    TransactionStatus,
    WithdrawalStatus,
)
from bot.evidence import DisputeEvidence
from bot.processors.sandbox.models import (
    SandboxCustomer,
    SandboxDispute,
    SandboxReturn,
    SandboxTransaction,
    SandboxWithdrawal,
)
from bot.processors.sandbox.records import (
    CURRENCY,
    DISPUTE_REASONS,
    RESPONSE_WINDOW,
    NewEvent,
    append_events,
    dispute_event,
    make_id,
    payment_event,
    payment_row,
    refund_event,
    refund_row,
    return_event,
    withdrawal_event,
)

T = SandboxTransaction

SEED_BATCH = 5000
SEED_TABLES = ("sandbox_transactions", "sandbox_disputes", "sandbox_returns", "sandbox_events")
SEED_DAYS = 90
FIRST_NAMES = (
    "Dana", "Miguel", "Priya", "Samuel", "Grace", "Omar", "Hannah", "Luis", "Keiko", "Tobias",
    "Amara", "Elliot", "Sofia", "Reuben", "Ines", "Marcus", "Leah", "Victor", "Noor", "Caleb",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Whitaker", "Chen", "Alvarez", "Lindqvist", "Brennan", "Nakamura", "Haddad",
    "Fitzgerald", "Moreau", "Kowalski", "Adeyemi", "Castellano", "Osei", "Delgado", "Sullivan",
)  # fmt: skip
COMPANIES = (
    "Harbor Point Logistics LLC", "Bluegrass Dental Group", "Northwind Builders Inc.",
    "Cedar & Vine Bakery", "Meridian Freight Co.", "Summit Ridge Properties LLC",
    "Lakeside Veterinary Clinic", "Ironwood Tooling Corp.",
)  # fmt: skip
PRACTICE_AREAS = (
    "Estate planning", "Divorce", "Personal injury", "Business formation", "Real estate closing",
    "Immigration", "Criminal defense", "Employment dispute", "Contract review", "Custody",
)  # fmt: skip
CARD_BRANDS = ("visa", "mastercard", "amex", "discover")
RETURN_CODE_WEIGHTS = {
    "R01": 40, "R02": 12, "R03": 10, "R04": 4, "R07": 5, "R08": 5, "R09": 3, "R10": 10,
    "R16": 2, "R20": 3, "R29": 6,
}  # fmt: skip
DISPUTE_CODE_WEIGHTS = {
    "10.4": 35,
    "13.1": 20,
    "13.3": 15,
    "12.6.1": 10,
    "13.7": 10,
    "12.5": 5,
    "13.6": 5,
}


@dataclass(frozen=True)
class SeedMatter:
    id: str
    name: str
    payers: tuple[str, ...]  # the client first; sometimes a relative or a company pays


def _seed_matters() -> tuple[SeedMatter, ...]:
    """Forty matters, MAT-1001 to MAT-1040, the same whatever the seed."""
    rng = random.Random("sandbox-matters")
    matters = []
    for number in range(40):
        if number % 5 == 4:
            client = COMPANIES[(number // 5) % len(COMPANIES)]
        else:
            client = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        payers: tuple[str, ...] = (client,)
        if number % 3 == 0 and client not in COMPANIES:  # a parent or spouse pays sometimes
            payers += (f"{rng.choice(FIRST_NAMES)} {client.split()[-1]}",)
        area = PRACTICE_AREAS[number % len(PRACTICE_AREAS)]
        matters.append(SeedMatter(f"MAT-{1001 + number}", f"{client}: {area}", payers))
    return tuple(matters)


SEED_MATTERS = _seed_matters()


@dataclass(frozen=True)
class _Wallet:
    brand: str
    card_last4: str
    bank_last4: str


class _SeedPlan:
    """Every row of a seed, built in memory first so it can be written in a few bulk inserts."""

    def __init__(self, rng: random.Random, ids: random.Random, now: datetime) -> None:
        self.rng, self.ids, self.now = rng, ids, now
        self.start = now - timedelta(days=SEED_DAYS)
        self.payments: list[dict[str, Any]] = []
        self.refunds: list[dict[str, Any]] = []
        self.disputes: list[dict[str, Any]] = []
        self.returns: list[dict[str, Any]] = []
        self.withdrawals: list[dict[str, Any]] = []
        self.events: list[NewEvent] = []
        self._returned_at: dict[str, datetime] = {}
        self._wallets: dict[str, _Wallet] = {}
        self._invoice = 1000

    def build(self, transactions: int) -> None:
        busy_first = itertools.accumulate(
            1 / (rank + 1) ** 0.7 for rank in range(len(SEED_MATTERS))
        )
        cum_weights = list(busy_first)
        while len(self.payments) + len(self.refunds) < transactions:
            matter = self.rng.choices(SEED_MATTERS, cum_weights=cum_weights)[0]
            payment = self._payment(matter)
            self.payments.append(payment)
            room = len(self.payments) + len(self.refunds) < transactions
            if room and payment["status"] == "succeeded" and self.rng.random() < 0.03:
                self._refund(payment)
        self._disputes()
        self._returns()
        self._withdrawals()
        self.events.extend(self._payment_events())

    def _wallet(self, payer: str) -> _Wallet:
        if payer not in self._wallets:
            rng = random.Random(f"wallet:{payer}")
            brand = rng.choices(CARD_BRANDS, (50, 30, 15, 5))[0]
            card = "4242" if payer == SEED_MATTERS[0].payers[0] else f"{rng.randrange(10_000):04d}"
            self._wallets[payer] = _Wallet(brand, card, f"{rng.randrange(10_000):04d}")
        return self._wallets[payer]

    def _payment(self, matter: SeedMatter) -> dict[str, Any]:
        rng = self.rng
        created = self.start + timedelta(seconds=rng.random() * SEED_DAYS * 86_400)
        payer = (
            matter.payers[-1] if len(matter.payers) > 1 and rng.random() < 0.2 else matter.payers[0]
        )
        wallet = self._wallet(payer)
        method = MethodType.CARD if rng.random() < 0.65 else MethodType.ACH
        account = Account.TRUST if rng.random() < 0.3 else Account.OPERATING
        kind = PaymentKind.SALE if rng.random() < 0.8 else PaymentKind.AUTHORIZATION
        items: list[dict[str, Any]]
        if account is Account.TRUST:
            amount = rng.choice((1_000, 1_500, 2_500, 3_000, 5_000, 7_500, 10_000, 15_000)) * 100
            items = [{"description": f"Retainer deposit, {matter.id}", "amount_minor": amount}]
            description = f"Retainer deposit for {matter.id}"
        else:
            items = []
            for _ in range(rng.choices((1, 2, 3), (70, 22, 8))[0]):
                self._invoice += 1
                amount_minor = rng.randrange(150_00, 4_800_00, 25)
                items.append(
                    {"description": f"Invoice INV-{self._invoice}", "amount_minor": amount_minor}
                )
            description = f"Legal services, {matter.id}"
        if method is MethodType.CARD and rng.random() < 0.03:
            status = TransactionStatus.FAILED
        elif kind is PaymentKind.AUTHORIZATION and rng.random() < 0.25:
            expired = created < self.now - timedelta(days=7)  # authorizations lapse after a week
            status = TransactionStatus.VOIDED if expired else TransactionStatus.AUTHORIZED
        else:
            status = TransactionStatus.SUCCEEDED
        return payment_row(
            make_id(self.ids, "txn"),
            kind=kind,
            status=status,
            amount_minor=sum(item["amount_minor"] for item in items),
            method=method,
            brand=wallet.brand if method is MethodType.CARD else None,
            last4=wallet.card_last4 if method is MethodType.CARD else wallet.bank_last4,
            account=account,
            matter_id=matter.id,
            customer_name=payer,
            description=description,
            items=items,
            created_at=created,
        )

    def _refund(self, payment: dict[str, Any]) -> None:
        created = payment["created_at"] + timedelta(seconds=self.rng.uniform(3_600, 14 * 86_400))
        if created >= self.now:
            return
        reason = self.rng.choice(
            ("Overpayment", "Duplicate payment", "Matter closed", "Client request")
        )
        refund = refund_row(
            make_id(self.ids, "re"),
            payment,
            created,
            idempotency_key=None,
            metadata={"reason": reason},
        )
        payment["refund_id"] = refund["id"]
        self.refunds.append(refund)
        self.events.append(refund_event(refund, created))
        if refund["settles_at"] <= self.now:
            refund["status"] = RefundStatus.SUCCEEDED.value
            refund["settled_at"] = refund["settles_at"]
            self.events.append(refund_event(refund, refund["settled_at"]))

    def _eligible(self, method: MethodType) -> list[dict[str, Any]]:
        day_ago = self.now - timedelta(days=1)
        return [
            payment
            for payment in self.payments
            if payment["method"] == method.value
            and payment["status"] == TransactionStatus.SUCCEEDED.value
            and payment["refund_id"] is None
            and payment["created_at"] < day_ago
        ]

    def _disputes(self) -> None:
        rng, now = self.rng, self.now
        eligible = self._eligible(MethodType.CARD)
        count = min(len(eligible), max(6, round(len(eligible) * 0.005)))
        codes, weights = zip(*DISPUTE_CODE_WEIGHTS.items(), strict=True)
        for number, payment in enumerate(rng.sample(eligible, count)):
            age = (now - payment["created_at"]).total_seconds()
            if number < 2 and age > 10 * 86_400:  # open, with the deadline a day or two away
                created = now - timedelta(days=rng.uniform(7.5, 9.5))
            else:
                created = payment["created_at"] + timedelta(
                    seconds=rng.uniform(3_600, min(age, 60 * 86_400))
                )
            code = rng.choices(codes, weights)[0]
            dispute: dict[str, Any] = {
                "id": make_id(self.ids, "dp"),
                "transaction_id": payment["id"],
                "amount_minor": payment["amount_minor"],
                "currency": payment["currency"],
                "status": DisputeStatus.NEEDS_RESPONSE.value,
                "reason": DISPUTE_REASONS[code],
                "network_reason_code": code,
                "respond_by": created + RESPONSE_WINDOW,
                "matter_id": payment["matter_id"],
                "evidence": None,
                "evidence_key": None,
                "evidence_submitted_at": None,
                "accept_key": None,
                "closed_at": None,
                "created_at": created,
            }
            self.events.append(dispute_event(EventType.DISPUTE_CREATED, dispute, created))
            self.disputes.append(dispute)
            if number < 2:
                continue
            self._dispute_history(dispute, payment)

    def _dispute_history(self, dispute: dict[str, Any], payment: dict[str, Any]) -> None:
        rng, now = self.rng, self.now
        respond_by = dispute["respond_by"]
        answered = dispute["created_at"] + timedelta(seconds=rng.uniform(3_600, 9 * 86_400))
        choice = rng.random()
        if answered >= now:
            return
        if choice < 0.15:  # the firm conceded
            self._close_dispute(dispute, DisputeStatus.ACCEPTED, answered)
            return
        if respond_by > now and choice < 0.55:
            return  # not answered yet, and still time to
        if respond_by <= now and choice < 0.3:  # never answered: the cardholder wins by default
            closed = min(respond_by + timedelta(hours=rng.uniform(1, 24)), now)
            self._close_dispute(dispute, DisputeStatus.LOST, closed)
            return
        evidence = DisputeEvidence(
            summary=f"Signed engagement letter and itemized invoices for {payment['matter_id']}.",
            product_description=payment["description"] or "",
            service_date=payment["created_at"].date().isoformat(),
            refund_policy="Fees are refundable only for services not yet rendered.",
        )
        dispute["status"] = DisputeStatus.UNDER_REVIEW.value
        dispute["evidence"] = dataclasses.asdict(evidence)
        dispute["evidence_key"] = f"seed-{dispute['id']}"
        dispute["evidence_submitted_at"] = answered
        self.events.append(dispute_event(EventType.DISPUTE_UPDATED, dispute, answered))
        decided = respond_by + timedelta(days=rng.uniform(5, 30))
        if decided < now:
            won = rng.random() < 0.55
            self._close_dispute(dispute, DisputeStatus.WON if won else DisputeStatus.LOST, decided)

    def _close_dispute(self, dispute: dict[str, Any], status: DisputeStatus, at: datetime) -> None:
        dispute["status"] = status.value
        dispute["closed_at"] = at
        self.events.append(dispute_event(EventType.DISPUTE_UPDATED, dispute, at))

    def _returns(self) -> None:
        rng = self.rng
        eligible = self._eligible(MethodType.ACH)
        count = min(len(eligible), max(3, round(len(eligible) * 0.015)))
        codes, weights = zip(*RETURN_CODE_WEIGHTS.items(), strict=True)
        for payment in rng.sample(eligible, count):
            created = add_business_days(payment["created_at"], rng.randint(1, 3))
            if created >= self.now:
                created = self.now - timedelta(minutes=rng.uniform(5, 600))
            code = rng.choices(codes, weights)[0]
            payment["status"] = TransactionStatus.RETURNED.value
            payment["return_code"] = code
            self._returned_at[payment["id"]] = created
            row = {
                "id": make_id(self.ids, "rt"),
                "transaction_id": payment["id"],
                "code": code,
                "amount_minor": payment["amount_minor"],
                "currency": payment["currency"],
                "matter_id": payment["matter_id"],
                "created_at": created,
            }
            self.returns.append(row)
            self.events.append(return_event(row))

    def _withdrawals(self) -> None:
        """A payout each business morning of what had settled by then, up to yesterday: one to
        each account (trust's payments to trust; operating's payments and every refund, which
        comes out of operating, to operating)."""
        for account in (Account.TRUST, Account.OPERATING):
            self._payouts(account)

    def _payouts(self, account: Account) -> None:
        ledger: list[tuple[datetime, dict[str, Any]]] = []
        for payment in self.payments:
            if payment["account"] != account.value:
                continue
            paid = payment["status"] == TransactionStatus.SUCCEEDED.value
            if paid or payment["id"] in self._returned_at:
                ledger.append((payment["created_at"], payment))
        for refund in self.refunds if account is Account.OPERATING else ():
            if refund["status"] == RefundStatus.SUCCEEDED.value:
                ledger.append((refund["settled_at"], refund))
        ledger.sort(key=lambda entry: entry[0])
        bucket: list[dict[str, Any]] = []
        position = 0
        for cutoff in _payout_times(self.start, self.now - timedelta(days=1)):
            while position < len(ledger) and ledger[position][0] <= cutoff:
                bucket.append(ledger[position][1])
                position += 1
            # A payment returned before this payout never reaches the firm.
            bucket = [row for row in bucket if self._returned_at.get(row["id"], cutoff) >= cutoff]
            net = sum(_signed(row) for row in bucket)
            if not bucket or net <= 0:
                continue
            withdrawal = {
                "id": make_id(self.ids, "wd"),
                "account": account.value,
                "amount_minor": net,
                "fees_minor": 0,
                "currency": CURRENCY,
                "status": WithdrawalStatus.PAID.value,
                "arrives_at": add_business_days(cutoff, 1),
                "created_at": cutoff,
            }
            for row in bucket:
                row["withdrawal_id"] = withdrawal["id"]
            self.withdrawals.append(withdrawal)
            self.events.append(withdrawal_event(withdrawal, len(bucket)))
            bucket = []

    def _payment_events(self) -> Iterable[NewEvent]:
        for payment in self.payments:
            if payment["id"] in self._returned_at:  # it was created succeeded; returned later
                yield payment_event(payment | {"status": TransactionStatus.SUCCEEDED.value})
            else:
                yield payment_event(payment)


async def seed(sessions: SessionFactory, now: datetime, transactions: int, seed: int) -> int:
    """Write ``transactions`` rows (payments and their refunds) spread over the 90 days before
    the clock's now, with disputes, ACH returns, withdrawals and the events of them all.

    The same seed and clock give the same data. Bulk inserts in batches: a hundred thousand
    rows take seconds, not minutes.
    """
    if transactions <= 0:
        return 0
    async with sessions() as session:
        existing = int(await session.scalar(select(func.count()).select_from(T)) or 0)
    plan = _SeedPlan(random.Random(seed), random.Random(f"seed-ids:{seed}:{existing}"), now)
    plan.build(transactions)
    async with sessions() as session:
        names = {row["customer_key"]: row["customer_name"] for row in plan.payments}
        known = set(
            await session.scalars(
                select(SandboxCustomer.key).where(SandboxCustomer.key.in_(list(names)))
            )
        )
        customers = [{"key": key, "name": name} for key, name in names.items() if key not in known]
        for model, rows in (
            (SandboxCustomer, customers),
            (T, plan.payments + plan.refunds),
            (SandboxDispute, plan.disputes),
            (SandboxReturn, plan.returns),
            (SandboxWithdrawal, plan.withdrawals),
        ):
            table = cast(Table, model.__table__)  # Core: one executemany per batch
            for start in range(0, len(rows), SEED_BATCH):
                await session.execute(insert(table), rows[start : start + SEED_BATCH])
        events = sorted(plan.events, key=lambda event: event.created_at)
        for start in range(0, len(events), SEED_BATCH):
            await append_events(session, plan.ids, events[start : start + SEED_BATCH])
        await session.commit()
    async with sessions() as session:
        # Statistics tell the planner a kind is common and a last four rare, so a filtered
        # search seeks on the rare one. ANALYZE reads the same on SQLite and PostgreSQL.
        for name in SEED_TABLES:
            await session.execute(text(f"ANALYZE {name}"))
        await session.commit()
    return len(plan.payments) + len(plan.refunds)


def _signed(row: Mapping[str, Any]) -> int:
    amount = int(row["amount_minor"])
    return -amount if row["kind"] == PaymentKind.REFUND.value else amount


def _payout_times(start: datetime, end: datetime) -> Iterable[datetime]:
    day = start.date() + timedelta(days=1)
    while True:
        at = datetime.combine(day, time(10), tzinfo=UTC)
        if at > end:
            return
        if is_business_day(day):
            yield at
        day += timedelta(days=1)
