"""Every record Payrix's test environment recorded maps to the bot's domain without loss.

The records are served by the local stand-in (tests/payrix_standin.py) and read through the real
adapter, over HTTP. Expected values are written out here from the recorded JSON, not computed
with the adapter's own tables, so a wrong table fails a test.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.clock import ManualClock
from bot.domain import (
    Account,
    DisputeStage,
    DisputeStatus,
    MethodType,
    PaymentKind,
    TransactionQuery,
    TransactionStatus,
    WithdrawalStatus,
)
from bot.processors.payrix import FieldPath, Fields, PayrixClient, PayrixGateway
from bot.processors.payrix.models import (
    Batch,
    ChargebackDocument,
    ChargebackMessage,
    ChargebackStatus,
    Txn,
    parse,
    to_datetime,
    to_int,
)
from tests.payrix_standin import API_KEY, MERCHANT, PayrixStandIn, recorded

TRUST_MATTER = "2e597269-b4fb-409f-b0f4-7d3084436cd4"
OPERATING_MATTER = "51fbd2ce-de01-4eac-af98-5eacc56b1bbe"
S, A, F = TransactionStatus.SUCCEEDED, TransactionStatus.AUTHORIZED, TransactionStatus.FAILED
CARD, ACH = MethodType.CARD, MethodType.ACH
OP, TR = Account.OPERATING, Account.TRUST

# id: (kind, status, amount in cents, method, matter, account, text Actionstep wrote)
TRANSACTIONS = {
    "t1_txn_6941bb1c19a1e4c7989bfc7": (PaymentKind.SALE, S, 1000, CARD, None, OP, None),
    "t1_txn_68fff7fbd76cc404a416a0c": (
        PaymentKind.SALE,
        S,
        159,
        ACH,
        OPERATING_MATTER,
        OP,
        "Payment of invoice #01294",
    ),
    "t1_txn_68fff2f40c20d4182c620b5": (
        PaymentKind.SALE,
        S,
        259,
        CARD,
        TRUST_MATTER,
        TR,
        "Payment of invoice #01293",
    ),
    "t1_txn_68ffee14c62bdea22c16d11": (
        PaymentKind.SALE,
        A,
        150,
        ACH,
        OPERATING_MATTER,
        OP,
        "Payment of invoice #01294",
    ),
    "t1_txn_68ffe1b1294cb1460be9b58": (
        PaymentKind.SALE,
        S,
        259,
        CARD,
        TRUST_MATTER,
        TR,
        "Payment of invoice #01293",
    ),
    "t1_txn_68ffc76ae978599475a92a2": (
        PaymentKind.SALE,
        S,
        250,
        CARD,
        TRUST_MATTER,
        TR,
        "Payment of invoice #01293",
    ),
    "t1_txn_68ffbdf2a02b58afca0af97": (
        PaymentKind.SALE,
        A,
        150,
        ACH,
        OPERATING_MATTER,
        OP,
        "Payment of invoice #01294",
    ),
    "t1_txn_67b3df83cd1cf0de3c9f466": (
        PaymentKind.SALE,
        S,
        1000,
        ACH,
        "6544c574-23b2-4f5b-9677-1b28f2d5f560",
        TR,
        None,
    ),
    "t1_txn_66f5db2ebd67d06ab092ec1": (PaymentKind.SALE, F, 84808, CARD, None, OP, None),
    "t1_txn_6642a474b48c9839c02e229": (
        PaymentKind.SALE,
        F,
        431700,
        CARD,
        "96386c5d-e982-45d0-be44-88bb713aec72",
        OP,
        "Payment made online by the client",
    ),
    "t1_txn_69418dea60e0c73ef65813f": (PaymentKind.SALE, S, 1000, CARD, None, OP, None),
    "t1_txn_69418b5e8fbb31e9c8b8f20": (PaymentKind.SALE, S, 1000, CARD, None, OP, None),
    "t1_txn_69418b5168361492c3010b2": (PaymentKind.SALE, S, 1000, CARD, None, OP, None),
    "t1_txn_694188b462044652cfff84c": (PaymentKind.SALE, S, 1000, CARD, None, OP, None),
}
EXPANDED_VISA = {  # the recording expanded the payment of these: a Visa ending 1111
    "t1_txn_6941bb1c19a1e4c7989bfc7",
    "t1_txn_69418dea60e0c73ef65813f",
    "t1_txn_69418b5e8fbb31e9c8b8f20",
    "t1_txn_69418b5168361492c3010b2",
    "t1_txn_694188b462044652cfff84c",
}
# id: (status, cents, reply-by, evidence submitted, transaction)
CHARGEBACKS = {
    "t1_chb_6616a9f7c19a47bea938957": (  # closed after a representment: no winner named yet
        DisputeStatus.CLOSED,
        30000,
        datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2024, 6, 20, 13, 34, 48, 31800, tzinfo=UTC),
        "t1_txn_6616a938dab5e92858d4e0a",
    ),
    "t1_chb_6616a9de06fd751e5ae91e5": (  # open and actionable after a respondToDispute
        DisputeStatus.NEEDS_RESPONSE,
        20000,
        datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2024, 4, 11, 0, 15, 35, 100900, tzinfo=UTC),  # the respondToDispute
        "t1_txn_6616a925e796be0ebf69dd9",
    ),
    "t1_chb_6616a9b87fce852bab31384": (  # lost after the merchant accepted liability
        DisputeStatus.ACCEPTED,
        10000,
        datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
        None,
        "t1_txn_6616a9113625edd8552a81d",
    ),
}
# id: (status, created, cents, transactions in the recording)
BATCHES = {
    "t1_bth_6941bb1c3dac669bd7c1424": (
        WithdrawalStatus.PAID,
        datetime(2025, 12, 16, 15, 3, 40, 267400, tzinfo=UTC),
        1000,
        1,
    ),
    "t1_bth_6940745c6d1611b36ac502c": (
        WithdrawalStatus.PENDING,
        datetime(2025, 12, 15, 15, 49, 32, 461700, tzinfo=UTC),
        0,
        0,
    ),
    "t1_bth_68ffc17a71c5a0fbaf3947d": (
        WithdrawalStatus.PAID,
        datetime(2025, 10, 27, 15, 1, 14, 480800, tzinfo=UTC),
        250,
        1,
    ),
    "t1_bth_67cb7353ef2ae75145757a5": (
        WithdrawalStatus.PENDING,
        datetime(2025, 3, 7, 17, 29, 39, 989200, tzinfo=UTC),
        0,
        0,
    ),
    "t1_bth_67ca36dbb56e0a321578265": (
        WithdrawalStatus.PAID,
        datetime(2025, 3, 6, 18, 59, 23, 760400, tzinfo=UTC),
        0,
        0,
    ),
    "t1_bth_67b3be031700f7ba67ca638": (
        WithdrawalStatus.PAID,
        datetime(2025, 2, 17, 17, 53, 55, 104100, tzinfo=UTC),
        0,
        0,
    ),
    "t1_bth_66f5d9ae04857fabf4c4c1c": (
        WithdrawalStatus.PAID,
        datetime(2024, 9, 26, 18, 1, 18, 36000, tzinfo=UTC),
        0,
        0,
    ),
    "t1_bth_66f1ac18850354f93d01026": (
        WithdrawalStatus.PAID,
        datetime(2024, 9, 23, 13, 57, 44, 551900, tzinfo=UTC),
        0,
        0,
    ),
    "t1_bth_664564e7baa269ae997972f": (
        WithdrawalStatus.PAID,
        datetime(2024, 5, 15, 21, 44, 7, 784100, tzinfo=UTC),
        0,
        0,
    ),
    "t1_bth_66390e0ed32443e661d98b2": (
        WithdrawalStatus.PAID,
        datetime(2024, 5, 6, 13, 6, 22, 874100, tzinfo=UTC),
        0,
        0,
    ),
}


@pytest.fixture
async def standin(clock: ManualClock) -> AsyncIterator[PayrixStandIn]:
    server = PayrixStandIn(clock=clock)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def gateway(standin: PayrixStandIn, clock: ManualClock) -> AsyncIterator[PayrixGateway]:
    made = PayrixGateway(PayrixClient(standin.url, API_KEY), MERCHANT, clock=clock)
    yield made
    await made.close()


def payrix_time(text: str) -> datetime:
    """The recorded ``YYYY-MM-DD HH:MM:SS.ffff``, written out by hand for the expectation."""
    day, clock_time = text.split(" ")
    hms, _, fraction = clock_time.partition(".")
    y, mo, d = (int(p) for p in day.split("-"))
    h, mi, s = (int(p) for p in hms.split(":"))
    return datetime(y, mo, d, h, mi, s, int(fraction.ljust(6, "0")), tzinfo=UTC)


async def test_every_recorded_transaction_maps_without_loss(gateway: PayrixGateway) -> None:
    records = recorded("txns")
    assert {r["id"] for r in records} == set(TRANSACTIONS), "the expectation covers the recording"
    for record in records:
        txn = await gateway.get_transaction(record["id"])
        assert txn is not None, record["id"]
        kind, status, cents, method, matter, account, text = TRANSACTIONS[txn.id]
        assert (txn.kind, txn.status) == (kind, status), txn.id
        assert txn.amount.minor == cents == record["total"] and txn.amount.currency == "USD"
        assert txn.method.type is method, txn.id
        assert txn.created_at == payrix_time(record["created"]), txn.id
        assert txn.matter_id == matter and txn.account is account, txn.id
        assert txn.customer_name == f"{record['first']} {record['last']}"
        if txn.id in EXPANDED_VISA:
            assert str(txn.method) == "Visa •••• 1111"
        else:  # the recording has only the payment's id: the digits are unknown, and it says so
            assert "Payrix sent no card or account digits" in (txn.description or "")
        if text:
            assert (txn.description or "").startswith(text), txn.id
        assert txn.refunds == () and txn.original_id is None and txn.return_code is None


async def test_every_recorded_chargeback_maps_with_its_messages(gateway: PayrixGateway) -> None:
    records = recorded("chargebacks")
    assert {r["id"] for r in records} == set(CHARGEBACKS)
    for record in records:
        dispute = await gateway.get_dispute(record["id"])
        assert dispute is not None
        status, cents, deadline, evidence_at, txn_id = CHARGEBACKS[dispute.id]
        assert dispute.status is status, dispute.id
        assert dispute.amount.minor == cents == record["total"]
        assert dispute.respond_by == deadline and dispute.evidence_submitted_at == evidence_at
        assert dispute.created_at == payrix_time(record["created"])
        assert dispute.transaction_id == txn_id
        assert (dispute.reason, dispute.network_reason_code) == ("Missing Signature", "F14")
        answer = "representment" if status is DisputeStatus.NEEDS_RESPONSE else None
        assert dispute.stage == DisputeStage("First chargeback", answer), "answer only if needed"


async def test_every_recorded_batch_is_listed_with_its_transactions(
    gateway: PayrixGateway,
) -> None:
    page = await gateway.list_batches(limit=100)
    assert [w.id for w in page.items] == list(BATCHES), "newest first, none dropped"
    for withdrawal in page.items:
        status, created, cents, count = BATCHES[withdrawal.id]
        assert (withdrawal.status, withdrawal.created_at) == (status, created)
        assert withdrawal.amount.minor == cents and len(withdrawal.transaction_ids) == count
    paid = page.items[0]
    assert paid.transaction_ids == ("t1_txn_6941bb1c19a1e4c7989bfc7",)
    assert paid.arrives_at == datetime(2025, 12, 16, tzinfo=UTC)  # the txn's ``funded`` day


def test_messages_statuses_documents_and_batches_keep_every_field() -> None:
    """The models keep what the bot reads, typed, and everything else as sent (nothing lost)."""
    for record in recorded("chargebackMessages"):
        message = parse(ChargebackMessage, record, "message")
        assert (message.id, message.chargeback, message.type, message.status) == (
            record["id"],
            record["chargeback"],
            record["type"],
            record["status"],
        )
        assert message.amount == record["amount"] and message.note == record["note"]
        assert message.date == date(
            record["date"] // 10000, record["date"] // 100 % 100, record["date"] % 100
        )
        assert message.created == payrix_time(record["created"])
        assert message.model_dump()["fromQueue"] == record["fromQueue"]  # unread, still kept
    for record in recorded("chargebackStatuses"):
        status = parse(ChargebackStatus, record, "status")
        assert (status.id, status.chargeback, status.chargebackMessage, status.status) == (
            record["id"],
            record["chargeback"],
            record["chargebackMessage"],
            record["status"],
        )
        assert status.created == payrix_time(record["created"])
    for record in recorded("chargebackDocuments"):
        document = parse(ChargebackDocument, record, "document")
        assert (document.id, document.chargeback, document.name, document.type) == (
            "t1_chd_6674682736b9b7bf2671e7e",
            "t1_chb_6616a9f7c19a47bea938957",
            "invoice 1.TIFF",
            "tiff",
        )
        assert document.status == "processed" and document.ref == record["ref"]
    for record in recorded("batches"):
        batch = parse(Batch, record, "batch")
        assert batch.date == date.fromisoformat(record["date"])
        assert batch.closeTime == (
            payrix_time(record["closeTime"]) if record["closeTime"] else None
        )
        assert batch.model_dump()["processingId"] == record["processingId"]


async def test_paging_walks_every_transaction_once_newest_first(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        page = await gateway.list_transactions(TransactionQuery(limit=4, cursor=cursor))
        seen += [t.id for t in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    created = {r["id"]: r["created"] for r in recorded("txns")}
    assert seen == sorted(created, key=lambda i: created[i], reverse=True)
    assert pages == 4
    lists = [r for r in standin.calls("GET", "/txns") if r.param("page[limit]") == "4"]
    assert [r.param("page[number]") for r in lists] == ["1", "2", "3", "4"]
    assert all(r.param("expand[payment][]") == "" for r in lists)
    assert all(
        r.search == f"merchant[equals]={MERCHANT}&created[sort]=desc&id[sort]=desc" for r in lists
    )
    back = await gateway.list_transactions(TransactionQuery(limit=4, cursor=page.prev_cursor))
    assert [t.id for t in back.items] == seen[8:12]


# ---------------------------------------------------------------------------------------------
# Leniency: the same record in every form Payrix has been seen to send


def test_numbers_as_strings_floats_dates_and_nulls_read_the_same() -> None:
    record = copy.deepcopy(recorded("txns")[0])
    loose = {
        **record,
        "type": "1",
        "status": "4",
        "total": "1000",
        "approved": 1000.0,
        "created": "2025-12-16T15:03:40.1195",
        "settled": "20251216",
        "funded": "2025-12-16",
        "currency": None,
        "first": None,
    }
    strict, lax = parse(Txn, record, "t"), parse(Txn, loose, "t")
    assert (lax.type, lax.status, lax.total, lax.approved) == (1, 4, 1000, 1000)
    assert lax.created == strict.created == datetime(2025, 12, 16, 15, 3, 40, 119500, tzinfo=UTC)
    assert lax.settled == strict.settled == datetime(2025, 12, 16, tzinfo=UTC)
    assert lax.funded == strict.funded == date(2025, 12, 16)
    assert lax.currency is None and lax.first is None
    assert to_int(3524255.258) == 3524255 and to_int("1259.5") == 1260  # half to even
    assert to_int("") is None and to_datetime(0) is None and to_datetime("0000-00-00") is None
    with pytest.raises(ValueError):
        to_int("twelve")
    assert parse(Txn, {**record, "total": 1259.5}, "t").total == 1260
    assert parse(Txn, {**record, "total": Decimal("1000.0")}, "t").total == 1000


async def test_unknown_codes_are_surfaced_not_dropped(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    odd = copy.deepcopy(standin.find("txns", "t1_txn_68fff2f40c20d4182c620b5"))
    assert odd is not None
    odd.update(id="t1_txn_unknowncodes000000000", type=99, status=9)
    standin.add("txns", odd)
    txn = await gateway.get_transaction(odd["id"])
    assert txn is not None and txn.amount.minor == 259
    assert "type 99 is not known" in (txn.description or "")
    assert "status 9 is not known" in (txn.description or "")
    assert txn.status is TransactionStatus.PENDING  # the cautious reading: nothing settled
    listed = await gateway.list_transactions(TransactionQuery(limit=100))
    assert odd["id"] in [t.id for t in listed.items]

    chargeback = copy.deepcopy(standin.find("chargebacks", "t1_chb_6616a9de06fd751e5ae91e5"))
    assert chargeback is not None
    chargeback.update(id="t1_chb_unknowncodes000000000", status="pending", cycle="mystery")
    standin.add("chargebacks", chargeback)
    dispute = await gateway.get_dispute(chargeback["id"])
    assert dispute is not None and dispute.amount.minor == 20000
    assert "status 'pending' is not known" in dispute.reason
    assert "cycle 'mystery' is not known" in dispute.reason
    assert dispute.status is DisputeStatus.NEEDS_RESPONSE  # actionable: someone must look

    visa = copy.deepcopy(standin.payments["g157b215cd94669"])
    standin.payments["g_odd_method"] = {**visa, "id": "g_odd_method", "method": 42}
    method_odd = {**copy.deepcopy(odd), "id": "t1_txn_unknownmethod0000000", "type": 1}
    method_odd.update(status=4, payment="g_odd_method")
    standin.add("txns", method_odd)
    txn = await gateway.get_transaction(method_odd["id"])
    assert txn is not None and txn.method.last4 == "1111"
    assert "payment method 42 is not known" in (txn.description or "")


@pytest.mark.parametrize(
    ("status", "cycle", "actionable", "expected"),
    [
        ("open", "retrieval", 1, DisputeStatus.NEEDS_RESPONSE),
        ("open", "first", 1, DisputeStatus.NEEDS_RESPONSE),
        ("open", "first", 0, DisputeStatus.UNDER_REVIEW),
        ("open", "preArbitration", 1, DisputeStatus.NEEDS_RESPONSE),
        ("open", "representment", 1, DisputeStatus.NEEDS_RESPONSE),  # Payrix: actionable
        ("open", "representment", 0, DisputeStatus.UNDER_REVIEW),
        ("open", "arbitration", 1, DisputeStatus.NEEDS_RESPONSE),
        ("open", "arbitration", 0, DisputeStatus.UNDER_REVIEW),
        ("open", "reversal", 1, DisputeStatus.UNDER_REVIEW),
        ("won", "representment", 0, DisputeStatus.WON),
        ("won", "arbitrationWon", 0, DisputeStatus.WON),
        ("lost", "arbitrationLost", 0, DisputeStatus.LOST),
        ("closed", "first", 0, DisputeStatus.CLOSED),  # "responses may no longer be submitted"
        ("closed", "arbitrationLost", 0, DisputeStatus.LOST),
        ("closed", "reversal", 0, DisputeStatus.WON),
    ],
)
async def test_each_status_and_cycle(
    gateway: PayrixGateway,
    standin: PayrixStandIn,
    status: str,
    cycle: str,
    actionable: int,
    expected: DisputeStatus,
) -> None:
    """The recording has open, closed and lost in the ``first`` cycle; the other combinations
    are the recorded chargeback with its status and cycle changed (and no messages)."""
    record = copy.deepcopy(standin.find("chargebacks", "t1_chb_6616a9de06fd751e5ae91e5"))
    assert record is not None
    record.update(id=f"t1_chb_{status}{cycle}{actionable}"[:30], status=status, cycle=cycle)
    record["actionable"] = actionable
    standin.add("chargebacks", record)
    dispute = await gateway.get_dispute(record["id"])
    assert dispute is not None and dispute.status is expected
    assert "not known" not in dispute.reason


async def test_a_pre_arbitration_needs_its_own_answer(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    """The first answer does not count once the issuer escalates to pre-arbitration."""
    record = standin.find("chargebacks", "t1_chb_6616a9de06fd751e5ae91e5")
    assert record is not None
    record["cycle"] = "preArbitration"
    dispute = await gateway.get_dispute(record["id"])
    assert dispute is not None and dispute.status is DisputeStatus.NEEDS_RESPONSE


async def test_the_matter_and_account_fields_are_configurable(standin: PayrixStandIn) -> None:
    record = standin.find("txns", "t1_txn_68fff2f40c20d4182c620b5")
    assert record is not None
    record["order"] = "MAT-2040"
    fields = Fields(matter=FieldPath.parse("order"), trust=FieldPath.parse("none"))
    gateway = PayrixGateway(PayrixClient(standin.url, API_KEY), MERCHANT, fields=fields)
    try:
        txn = await gateway.get_transaction(record["id"])
    finally:
        await gateway.close()
    assert txn is not None and txn.matter_id == "MAT-2040" and txn.account is Account.OPERATING
    for bad in ("notes", "description.", "order..id", "none.id", ""):
        with pytest.raises(ValueError):
            FieldPath.parse(bad)
    assert str(FieldPath.parse("description.client.matter")) == "description.client.matter"
    assert FieldPath.parse("order.matter") == FieldPath("order", ("matter",))
