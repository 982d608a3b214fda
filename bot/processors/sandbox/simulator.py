"""The sandbox processor acting on its own: customers pay and dispute, banks return ACH payments,
settlement pays out. The CLI, the demo and tests drive it; the bot only ever sees the gateway."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, add_business_days, utcnow
from bot.db.engine import SessionFactory
from bot.domain import (
    Account,
    Dispute,
    DisputeEvidence,
    DisputeStatus,
    EventType,
    LineItem,
    MethodType,
    Money,
    PaymentKind,
    PaymentReturn,
    Refund,
    RefundStatus,
    Transaction,
    TransactionStatus,
    Withdrawal,
    WithdrawalStatus,
)
from bot.errors import NotFound, ProcessorError
from bot.nacha import describe_return, normalize_return_code
from bot.processors.sandbox.gateway import (
    ATTEMPTS,
    CURRENCY,
    OPEN_DISPUTES,
    PAYMENT_KINDS,
    NewEvent,
    append_events,
    columns_of,
    dispute_event,
    make_id,
    money,
    move_dispute,
    new_rng,
    payment_event,
    refund_event,
    refund_row,
    remember_customer,
    return_event,
    rowcount,
    to_dispute,
    to_refund,
    to_return,
    to_transaction,
    to_withdrawal,
    withdrawal_event,
)
from bot.processors.sandbox.models import (
    SandboxCustomer,
    SandboxDispute,
    SandboxReturn,
    SandboxTransaction,
    SandboxWithdrawal,
)

T = SandboxTransaction

# Visa dispute conditions the sandbox raises; the code is what the network sends.
DISPUTE_REASONS: dict[str, str] = {
    "10.4": "Other Fraud \N{EN DASH} Card-Absent Environment",
    "12.5": "Incorrect Amount",
    "12.6.1": "Duplicate Processing",
    "13.1": "Merchandise/Services Not Received",
    "13.3": "Not as Described or Defective Merchandise/Services",
    "13.6": "Credit Not Processed",
    "13.7": "Cancelled Merchandise/Services",
}
REASON_ALIASES: dict[str, str] = {
    "fraud": "10.4",
    "fraudulent": "10.4",
    "incorrect_amount": "12.5",
    "duplicate": "12.6.1",
    "not_received": "13.1",
    "product_not_received": "13.1",
    "services_not_received": "13.1",
    "not_as_described": "13.3",
    "product_unacceptable": "13.3",
    "credit_not_processed": "13.6",
    "cancelled": "13.7",
    "canceled": "13.7",
}
DEFAULT_NETWORK_CODE = "10.4"
RESPONSE_WINDOW = timedelta(days=10)


@dataclass(frozen=True)
class SettleResult:
    refunds: tuple[Refund, ...]  # the refunds this settlement moved from pending to succeeded
    withdrawal: Withdrawal | None  # None when nothing (or only a net debit) was left to pay out


@dataclass(frozen=True)
class SeedMatter:
    id: str
    name: str
    payers: tuple[str, ...]  # the client first; sometimes a relative or a company pays


def dispute_reason(reason: str | None, network_code: str | None) -> tuple[str, str]:
    """(network code, reason text) from either, both or neither."""
    if network_code is not None:
        code = network_code.strip()
        if code not in DISPUTE_REASONS:
            known = ", ".join(DISPUTE_REASONS)
            raise ProcessorError(
                f"{network_code!r} is not a dispute code the sandbox knows ({known})."
            )
        return code, (reason or "").strip() or DISPUTE_REASONS[code]
    if reason is None or not reason.strip():
        return DEFAULT_NETWORK_CODE, DISPUTE_REASONS[DEFAULT_NETWORK_CODE]
    alias = reason.strip().casefold().replace(" ", "_").replace("-", "_")
    found = REASON_ALIASES.get(alias) or next(
        (
            code
            for code, text in DISPUTE_REASONS.items()
            if text.casefold() == reason.strip().casefold()
        ),
        None,
    )
    if found is None:
        raise ProcessorError(
            f"{reason!r} is not a dispute reason the sandbox knows; use one of "
            f"{', '.join(sorted(REASON_ALIASES))} or give a network code."
        )
    return found, DISPUTE_REASONS[found]


def payment_row(
    transaction_id: str,
    *,
    kind: PaymentKind,
    status: TransactionStatus,
    amount_minor: int,
    method: MethodType,
    brand: str | None,
    last4: str,
    account: Account,
    matter_id: str | None,
    customer_name: str | None,
    description: str | None,
    items: list[dict[str, Any]],
    created_at: datetime,
) -> dict[str, Any]:
    return {
        "id": transaction_id,
        "kind": kind.value,
        "status": status.value,
        "amount_minor": amount_minor,
        "currency": CURRENCY,
        "method": method.value,
        "brand": brand,
        "last4": last4,
        "account": account.value,
        "matter_id": matter_id,
        "matter_key": matter_id.casefold() if matter_id else None,
        "customer_name": customer_name,
        "customer_key": customer_name.casefold() if customer_name else None,
        "description": description,
        "items": items,
        "original_id": None,
        "refund_id": None,
        "return_code": None,
        "idempotency_key": None,
        "request_metadata": None,
        "settles_at": None,
        "settled_at": None,
        "withdrawal_id": None,
        "created_at": created_at,
    }


class SandboxSimulator:
    def __init__(
        self, session_factory: SessionFactory, clock: Clock = utcnow, *, seed: int | None = None
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._rng = new_rng(seed, "simulator")

    async def charge(
        self,
        amount: Money,
        method: MethodType,
        kind: PaymentKind,
        matter_id: str,
        account: Account,
        brand: str | None,
        last4: str,
        customer_name: str,
        items: Sequence[LineItem] | None = None,
        captured: bool = True,
        *,
        description: str | None = None,
        declined: bool = False,
    ) -> Transaction:
        """A customer pays through the portal. ``declined`` makes the issuer say no (status
        failed); an authorization with ``captured=False`` stays ``authorized``."""
        method, kind, account = MethodType(method), PaymentKind(kind), Account(account)
        if amount.currency.upper() != CURRENCY:
            raise ProcessorError(
                f"The sandbox account takes {CURRENCY} only, not {amount.currency}."
            )
        if amount.minor <= 0:
            raise ProcessorError("A payment must be for more than zero.")
        if kind is PaymentKind.REFUND:
            raise ProcessorError("A refund is not charged; refund the payment instead.")
        if kind is PaymentKind.SALE and not captured:
            raise ProcessorError(
                "A sale is captured when it is made; use an authorization to hold funds."
            )
        if not (len(last4) == 4 and last4.isdigit()):
            raise ProcessorError(
                "last4 must be exactly four digits; the full number never comes here."
            )
        lines = (
            list(items) if items else [LineItem(description or f"Payment on {matter_id}", amount)]
        )
        total = sum(line.amount.minor for line in lines)
        if any(line.amount.currency.upper() != CURRENCY for line in lines) or total != amount.minor:
            raise ProcessorError(
                f"The payment items add up to {Money(total, CURRENCY)}, not the payment's {amount}."
            )
        if declined:
            status = TransactionStatus.FAILED
        elif not captured:
            status = TransactionStatus.AUTHORIZED
        else:
            status = TransactionStatus.SUCCEEDED
        row = payment_row(
            make_id(self._rng, "txn"),
            kind=kind,
            status=status,
            amount_minor=amount.minor,
            method=method,
            brand=(brand or "visa").lower() if method is MethodType.CARD else brand,
            last4=last4,
            account=account,
            matter_id=matter_id,
            customer_name=customer_name,
            description=description or f"Payment on {matter_id}",
            items=[
                {"description": line.description, "amount_minor": line.amount.minor}
                for line in lines
            ],
            created_at=self._clock(),
        )
        async with self._sessions() as session:
            await session.execute(insert(T).values(row))
            await remember_customer(session, customer_name)
            await append_events(session, self._rng, [payment_event(row)])
            await session.commit()
        return to_transaction(T(**row))

    async def dispute(
        self, transaction_id: str, reason: str | None = None, network_code: str | None = None
    ) -> Dispute:
        """The cardholder disputes a card payment with their bank."""
        code, reason_text = dispute_reason(reason, network_code)
        now = self._clock()
        async with self._sessions() as session:
            payment = await _payment(session, transaction_id)
            if payment.method != MethodType.CARD.value:
                raise ProcessorError(
                    f"{payment.id} is an ACH payment: banks return those (see return_payment), "
                    "card networks dispute card payments."
                )
            if payment.status != TransactionStatus.SUCCEEDED.value:
                raise ProcessorError(
                    f"{payment.id} is {payment.status}; only a settled card payment can be disputed."
                )
            row = {
                "id": make_id(self._rng, "dp"),
                "transaction_id": payment.id,
                "amount_minor": payment.amount_minor,
                "currency": payment.currency,
                "status": DisputeStatus.NEEDS_RESPONSE.value,
                "reason": reason_text,
                "network_reason_code": code,
                "respond_by": now + RESPONSE_WINDOW,
                "matter_id": payment.matter_id,
                "evidence": None,
                "evidence_key": None,
                "evidence_submitted_at": None,
                "accept_key": None,
                "closed_at": None,
                "created_at": now,
            }
            try:
                await session.execute(insert(SandboxDispute).values(row))
                await append_events(
                    session, self._rng, [dispute_event(EventType.DISPUTE_CREATED, row, now)]
                )
                await session.commit()
            except IntegrityError:
                await session.rollback()  # expires payment: use the id kept in the row
                raise ProcessorError(
                    f"{row['transaction_id']} has already been disputed."
                ) from None
        return to_dispute(SandboxDispute(**row))

    async def resolve_dispute(self, dispute_id: str, won: bool) -> Dispute:
        """The network decides: won gives the money back to the firm, lost leaves it with the customer."""
        outcome = DisputeStatus.WON if won else DisputeStatus.LOST
        open_statuses = [DisputeStatus(status) for status in OPEN_DISPUTES]
        for _ in range(ATTEMPTS):
            async with self._sessions() as session:
                row = await session.get(SandboxDispute, dispute_id)
                if row is None:
                    raise ProcessorError(f"There is no dispute {dispute_id}.")
                if row.status not in OPEN_DISPUTES:
                    raise ProcessorError(f"{row.id} is already closed ({row.status}).")
                now = self._clock()
                changes = {"status": outcome.value, "closed_at": now}
                moved = await move_dispute(session, self._rng, now, row, open_statuses, changes)
                if moved is not None:
                    return moved
        raise ProcessorError("The sandbox is busy; try again.", retryable=True)

    async def return_payment(self, transaction_id: str, code: str = "R01") -> PaymentReturn:
        """The customer's bank sends an ACH payment back with a NACHA return code."""
        canonical = normalize_return_code(code)
        if canonical is None:
            raise ProcessorError(f"{code!r} is not a NACHA return code.")
        for _ in range(ATTEMPTS):
            async with self._sessions() as session:
                payment = await _payment(session, transaction_id)
                if payment.method != MethodType.ACH.value:
                    raise ProcessorError(
                        f"{payment.id} is a card payment: only ACH payments are returned by a bank "
                        "(a cardholder disputes instead)."
                    )
                if payment.status == TransactionStatus.RETURNED.value:
                    raise ProcessorError(
                        f"{payment.id} was already returned ({payment.return_code})."
                    )
                if payment.status != TransactionStatus.SUCCEEDED.value:
                    raise ProcessorError(
                        f"{payment.id} is {payment.status}; only a settled ACH payment can be returned."
                    )
                now = self._clock()
                returned = await session.execute(
                    sql_update(T)
                    .where(T.id == payment.id, T.status == TransactionStatus.SUCCEEDED.value)
                    .values(status=TransactionStatus.RETURNED.value, return_code=canonical)
                    .execution_options(synchronize_session=False)
                )
                if rowcount(returned) != 1:
                    await session.rollback()
                    continue
                row = {
                    "id": make_id(self._rng, "rt"),
                    "transaction_id": payment.id,
                    "code": canonical,
                    "amount_minor": payment.amount_minor,
                    "currency": payment.currency,
                    "matter_id": payment.matter_id,
                    "created_at": now,
                }
                await session.execute(insert(SandboxReturn).values(row))
                await append_events(session, self._rng, [return_event(row)])
                await session.commit()
                return to_return(SandboxReturn(**row))
        raise ProcessorError("The sandbox is busy; try again.", retryable=True)

    async def settle(self) -> SettleResult:
        """The day's settlement: every pending refund settles, then one withdrawal pays out what
        has settled and not been paid out yet (payments less refunds)."""
        now = self._clock()
        async with self._sessions() as session:
            settled = (
                (
                    await session.execute(
                        sql_update(T)
                        .where(
                            T.kind == PaymentKind.REFUND.value,
                            T.status == RefundStatus.PENDING.value,
                        )
                        .values(status=RefundStatus.SUCCEEDED.value, settled_at=now)
                        .returning(T)
                        .execution_options(synchronize_session=False)
                    )
                )
                .scalars()
                .all()
            )
            refunds = sorted(
                (to_refund(row) for row in settled), key=lambda r: (r.created_at, r.id)
            )
            events = [refund_event(columns_of(row), now) for row in settled]
            withdrawal = await self._withdraw(session, now)
            if withdrawal is not None:
                events.append(
                    withdrawal_event(_withdrawal_row(withdrawal), len(withdrawal.transaction_ids))
                )
            await append_events(session, self._rng, events)
            await session.commit()
        return SettleResult(tuple(refunds), withdrawal)

    async def _withdraw(self, session: AsyncSession, now: datetime) -> Withdrawal | None:
        withdrawal_id = make_id(self._rng, "wd")
        included = (
            await session.execute(
                sql_update(T)
                .where(T.withdrawal_id.is_(None), T.status == TransactionStatus.SUCCEEDED.value)
                .values(withdrawal_id=withdrawal_id)
                .returning(T.id, T.kind, T.amount_minor, T.created_at)
                .execution_options(synchronize_session=False)
            )
        ).all()
        net = sum(amount if kind in PAYMENT_KINDS else -amount for _, kind, amount, _ in included)
        if not included or net <= 0:
            if included:  # a net debit waits for payments to cover it
                await session.execute(
                    sql_update(T)
                    .where(T.withdrawal_id == withdrawal_id)
                    .values(withdrawal_id=None)
                    .execution_options(synchronize_session=False)
                )
            return None
        row = {
            "id": withdrawal_id,
            "amount_minor": net,
            "currency": CURRENCY,
            "status": WithdrawalStatus.PAID.value,
            "arrives_at": add_business_days(now, 1),
            "created_at": now,
        }
        await session.execute(insert(SandboxWithdrawal).values(row))
        ordered = sorted(included, key=lambda member: (member.created_at, member.id))
        return to_withdrawal(SandboxWithdrawal(**row), [member.id for member in ordered])

    async def show(self, transaction_id: str) -> dict[str, Any]:
        """The processor's own record of a transaction, as JSON: what support would see."""
        async with self._sessions() as session:
            row = await session.get(T, transaction_id)
            if row is None:
                raise NotFound(f"There is no transaction {transaction_id} in the sandbox.")
            refunds = (
                await session.scalars(
                    select(T)
                    .where(T.original_id == row.id, T.kind == PaymentKind.REFUND.value)
                    .order_by(T.created_at, T.id)
                )
            ).all()
            disputes = (
                await session.scalars(
                    select(SandboxDispute)
                    .where(SandboxDispute.transaction_id == row.id)
                    .order_by(SandboxDispute.created_at)
                )
            ).all()
            returns = (
                await session.scalars(
                    select(SandboxReturn).where(SandboxReturn.transaction_id == row.id)
                )
            ).all()
        record = _record(row)
        record["refunds"] = [_record(refund) for refund in refunds]
        record["disputes"] = [_jsonable(columns_of(dispute)) for dispute in disputes]
        record["returns"] = [
            _jsonable(columns_of(rt)) | {"description": describe_return(rt.code)} for rt in returns
        ]
        return record

    async def seed(self, transactions: int, seed: int = 7) -> int:
        """Write ``transactions`` rows (payments and their refunds) spread over the 90 days before
        the clock's now, with disputes, ACH returns, withdrawals and the events of them all.

        The same seed and clock give the same data. Bulk inserts in batches: a hundred thousand
        rows take seconds, not minutes.
        """
        if transactions <= 0:
            return 0
        async with self._sessions() as session:
            existing = int(await session.scalar(select(func.count()).select_from(T)) or 0)
        plan = _SeedPlan(
            random.Random(seed), random.Random(f"seed-ids:{seed}:{existing}"), self._clock()
        )
        plan.build(transactions)
        async with self._sessions() as session:
            names = {row["customer_key"]: row["customer_name"] for row in plan.payments}
            known = set(
                await session.scalars(
                    select(SandboxCustomer.key).where(SandboxCustomer.key.in_(list(names)))
                )
            )
            customers = [
                {"key": key, "name": name} for key, name in names.items() if key not in known
            ]
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
        async with self._sessions() as session:
            # Statistics tell the planner a kind is common and a last four rare, so a filtered
            # search seeks on the rare one. ANALYZE reads the same on SQLite and PostgreSQL.
            for name in SEED_TABLES:
                await session.execute(text(f"ANALYZE {name}"))
            await session.commit()
        return len(plan.payments) + len(plan.refunds)


async def _payment(session: AsyncSession, transaction_id: str) -> SandboxTransaction:
    row = await session.get(T, transaction_id)
    if row is None:
        raise ProcessorError(f"There is no transaction {transaction_id}.")
    if row.kind == PaymentKind.REFUND.value:
        raise ProcessorError(f"{row.id} is a refund, not a payment.")
    return row


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in values.items()
    }


def _record(row: SandboxTransaction) -> dict[str, Any]:
    values = columns_of(row)
    values.pop("matter_key")
    values.pop("customer_key")
    values["metadata"] = values.pop("request_metadata")
    values["amount"] = str(money(row.amount_minor, row.currency))
    return _jsonable(values)


def _withdrawal_row(withdrawal: Withdrawal) -> dict[str, Any]:
    return {
        "id": withdrawal.id,
        "status": withdrawal.status.value,
        "amount_minor": withdrawal.amount.minor,
        "currency": withdrawal.amount.currency,
        "arrives_at": withdrawal.arrives_at,
        "created_at": withdrawal.created_at,
    }


# ---------------------------------------------------------------------------------------------
# Seed data

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
        """A payout each business morning of what had settled by then, up to yesterday."""
        ledger: list[tuple[datetime, dict[str, Any]]] = []
        for payment in self.payments:
            paid = payment["status"] == TransactionStatus.SUCCEEDED.value
            if paid or payment["id"] in self._returned_at:
                ledger.append((payment["created_at"], payment))
        for refund in self.refunds:
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
                "amount_minor": net,
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


def _signed(row: Mapping[str, Any]) -> int:
    amount = int(row["amount_minor"])
    return -amount if row["kind"] == PaymentKind.REFUND.value else amount


def _payout_times(start: datetime, end: datetime) -> Iterable[datetime]:
    day = start.date() + timedelta(days=1)
    while True:
        at = datetime.combine(day, time(10), tzinfo=UTC)
        if at > end:
            return
        if day.weekday() < 5:
            yield at
        day += timedelta(days=1)
