"""The Payrix adapter's requests and its behaviour against the local Payrix stand-in: refunds made
exactly once, dispute answers and acceptances, the ``search`` header, errors delivered with HTTP
200, the polled event feed, balance, daily totals and start-up settings."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.documents import (
    DocumentFile,
    SentDocument,
)
from bot.domain import DisputeStatus, EventType, RefundStatus, TransactionQuery
from bot.errors import ConfigError, PaybotError, ProcessorError
from bot.evidence import DisputeEvidence
from bot.processors.factory import create_gateway
from bot.processors.gateway import Gateway
from bot.processors.payrix import PayrixClient, PayrixGateway
from bot.processors.payrix.client import like
from bot.services.refund_rules import refund_refusal
from tests.payrix_standin import API_KEY, MERCHANT, PayrixStandIn, error_body

CARD_TRUST = "t1_txn_68fff2f40c20d4182c620b5"  # Visa? unknown digits; settled; trust; 2.59
ECHECK = "t1_txn_68fff7fbd76cc404a416a0c"  # eCheck sale, settled, 1.59
ECHECK_APPROVED = "t1_txn_68ffee14c62bdea22c16d11"  # eCheck approved, not captured
FAILED = "t1_txn_66f5db2ebd67d06ab092ec1"
ANSWERED = "t1_chb_6616a9de06fd751e5ae91e5"  # open, already answered (respondToDispute)


@pytest.fixture
async def standin(clock: ManualClock) -> AsyncIterator[PayrixStandIn]:
    server = PayrixStandIn(clock=clock)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def waits(clock: ManualClock) -> list[float]:
    """The client's waits, taken on the test's clock instead of real time."""
    return []


@pytest.fixture
async def gateway(
    standin: PayrixStandIn, clock: ManualClock, waits: list[float]
) -> AsyncIterator[PayrixGateway]:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds=seconds)

    made = PayrixGateway(PayrixClient(standin.url, API_KEY, sleep=sleep), MERCHANT, clock=clock)
    yield made
    await made.close()


def entity_return(**fields: object) -> dict:
    """An ``/entityReturns`` record in the shape of doc/models/entity-returns-response.md."""
    return {
        "id": f"t1_ert_{abs(hash(tuple(sorted(fields.items())))) % 10**23:023d}",
        "created": "2025-10-30 10:00:01.0000",
        "modified": "2025-10-30 10:00:01.0000",
        "entity": "t1_ent_65f097a1c57793ba6dad9bf",
        "txn": None,
        "disbursement": None,
        "actionCode": "nsf",
        "message": "Returned by the receiving bank",
        "inactive": 0,
        "frozen": 0,
        **fields,
    }


def refunds_in(standin: PayrixStandIn, original: str) -> list[dict]:
    return [r for r in standin.store["txns"] if r.get("fortxn") == original]


# ---------------------------------------------------------------------------------------------
# Refunds


async def test_a_refund_sends_the_request_payrix_expects(
    gateway: PayrixGateway, standin: PayrixStandIn, clock: ManualClock
) -> None:
    refund = await gateway.refund(
        CARD_TRUST, idempotency_key="paybot-refund-r1", metadata={"paybot_request": "r1"}
    )
    (post,) = standin.calls("POST", "/txns")
    assert post.headers["APIKEY"] == API_KEY
    assert post.headers["request-token"] == "paybot-refund-r1"
    assert post.headers["Content-Type"] == "application/json"
    body = post.body
    assert {k: body[k] for k in ("merchant", "type", "fortxn", "total")} == {
        "merchant": MERCHANT,
        "type": 5,  # a card refund
        "fortxn": CARD_TRUST,
        "total": 259,  # the whole amount, in cents
    }
    kept = json.loads(body["description"])
    assert kept == {  # the original's Actionstep object, so the refund keeps matter and account
        "id": "2e597269-b4fb-409f-b0f4-7d3084436cd4",
        "isTrust": True,
        "description": f"Refund of {CARD_TRUST}",
        "paybot": "paybot-refund-r1",
        "paybotRequest": "r1",
    }
    assert (refund.transaction_id, refund.amount.minor) == (CARD_TRUST, 259)
    assert refund.status is RefundStatus.PENDING and refund.created_at == clock()

    txn = await gateway.get_transaction(CARD_TRUST)
    assert txn is not None and [r.id for r in txn.refunds] == [refund.id]
    assert refund_refusal(txn) == "A refund of this payment is already pending at the processor."
    made = await gateway.get_transaction(refund.id)
    assert made is not None and made.kind.value == "refund" and made.original_id == CARD_TRUST
    assert made.matter_id == "2e597269-b4fb-409f-b0f4-7d3084436cd4"


async def test_a_funded_echeck_is_refunded_with_type_8_and_the_first_name(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    txn = await gateway.get_transaction(ECHECK)  # settled 2025-10-27, funded 2025-10-28
    assert txn is not None and txn.status.value == "succeeded" and refund_refusal(txn) is None
    await gateway.refund(ECHECK, idempotency_key="k-echeck", metadata={})
    (post,) = standin.calls("POST", "/txns")
    assert (post.body["type"], post.body["total"], post.body["first"]) == (8, 159, "Hasan")


async def test_an_unfunded_echeck_waits_and_says_why(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    """Payrix: an eCheck can be returned even after it was captured and settled."""
    record = standin.find("txns", ECHECK)
    assert record is not None
    record["funded"] = None
    txn = await gateway.get_transaction(ECHECK)
    assert txn is not None and txn.status.value == "pending"
    assert "not been funded" in (refund_refusal(txn) or "")
    with pytest.raises(ProcessorError, match="not been funded"):
        await gateway.refund(ECHECK, idempotency_key="k-unfunded", metadata={})
    assert standin.calls("POST", "/txns") == []
    record["funded"] = 20251028
    await gateway.refund(ECHECK, idempotency_key="k-unfunded", metadata={})
    assert len(standin.calls("POST", "/txns")) == 1


@pytest.mark.parametrize("txn_type", [2, 14])
async def test_an_authorization_offers_no_refund(
    gateway: PayrixGateway, standin: PayrixStandIn, txn_type: int
) -> None:
    """Type 5 refunds only a prior capture or sale; an authorization is captured or reversed."""
    record = copy.deepcopy(standin.find("txns", CARD_TRUST))
    assert record is not None
    record.update(id=f"t1_txn_authorization0000000{txn_type:02d}", type=txn_type, status=3)
    standin.add("txns", record)
    txn = await gateway.get_transaction(record["id"])
    assert txn is not None and "only a capture or a sale" in (refund_refusal(txn) or "")
    with pytest.raises(ProcessorError, match="cannot be refunded"):
        await gateway.refund(record["id"], idempotency_key="k-auth", metadata={})
    assert standin.calls("POST", "/txns") == []


async def test_a_retry_finds_the_first_refund_and_never_makes_a_second(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    first = await gateway.refund(CARD_TRUST, idempotency_key="k1", metadata={})
    again = await gateway.refund(CARD_TRUST, idempotency_key="k1", metadata={})
    assert again == first
    assert len(standin.calls("POST", "/txns")) == 1
    lookups = [r for r in standin.calls("GET", "/txns") if "fortxn" in (r.search or "")]
    assert lookups[-1].search == (
        f"fortxn[equals]={CARD_TRUST}&type[in]=5,8&merchant[equals]={MERCHANT}&id[sort]=asc"
    )  # walked by id, as Payrix's api-call-syntax page asks of scripts
    assert len(refunds_in(standin, CARD_TRUST)) == 1
    with pytest.raises(ProcessorError, match="already been refunded"):
        await gateway.refund(CARD_TRUST, idempotency_key="another-key", metadata={})


async def test_twenty_concurrent_calls_with_one_key_make_one_refund(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    """Payrix's request-token returns the first record to the others, however they interleave."""
    refunds = await asyncio.gather(
        *(gateway.refund(CARD_TRUST, idempotency_key="k-many", metadata={}) for _ in range(20))
    )
    assert len({r.id for r in refunds}) == 1
    assert len(refunds_in(standin, CARD_TRUST)) == 1


async def test_a_failed_post_is_retryable_and_the_retry_makes_one_refund(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    standin.respond_next("POST", "/txns", {"message": "upstream timeout"}, status=502)
    with pytest.raises(ProcessorError) as failed:
        await gateway.refund(CARD_TRUST, idempotency_key="k-retry", metadata={})
    assert failed.value.retryable
    refund = await gateway.refund(CARD_TRUST, idempotency_key="k-retry", metadata={})
    assert [r["id"] for r in refunds_in(standin, CARD_TRUST)] == [refund.id]


@pytest.mark.parametrize(
    ("transaction_id", "reason"),
    [
        (ECHECK_APPROVED, "approved but not captured yet"),
        (FAILED, "failed at Payrix"),
        ("t1_txn_doesnotexist000000000", "no Payrix transaction"),
    ],
)
async def test_refusals_send_nothing(
    gateway: PayrixGateway, standin: PayrixStandIn, transaction_id: str, reason: str
) -> None:
    with pytest.raises(ProcessorError, match=reason) as refused:
        await gateway.refund(transaction_id, idempotency_key="k", metadata={})
    assert not refused.value.retryable
    assert standin.calls("POST", "/txns") == []


async def test_a_refund_cannot_be_refunded_and_settles_later(
    gateway: PayrixGateway, standin: PayrixStandIn, clock: ManualClock
) -> None:
    refund = await gateway.refund(CARD_TRUST, idempotency_key="k1", metadata={})
    with pytest.raises(ProcessorError, match="itself a refund"):
        await gateway.refund(refund.id, idempotency_key="k2", metadata={})
    assert await gateway.get_refund(CARD_TRUST) is None  # a payment is not a refund
    record = standin.find("txns", refund.id)
    assert record is not None
    record.update(status=4, settled=20261117)
    settled = await gateway.get_refund(refund.id)
    assert settled is not None and settled.status is RefundStatus.SUCCEEDED
    assert settled.settled_at == datetime(2026, 11, 17, tzinfo=UTC)
    record.update(status=2)
    failed = await gateway.get_refund(refund.id)
    assert failed is not None and failed.status is RefundStatus.FAILED
    assert failed.failure_reason == "Payrix reports the refund as failed"


# ---------------------------------------------------------------------------------------------
# Errors


async def test_an_error_delivered_with_http_200_is_an_error(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    standin.respond_next(
        "GET",
        f"/txns/{CARD_TRUST}",
        error_body("Invalid search field", field_name="expand"),
        status=200,
    )
    with pytest.raises(ProcessorError) as refused:
        await gateway.get_transaction(CARD_TRUST)
    assert "Invalid search field (expand, invalid)" in refused.value.message
    assert not refused.value.retryable


async def test_a_refusal_of_the_refund_itself_with_http_200(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    standin.respond_next("POST", "/txns", error_body("Transaction is frozen", field_name="fortxn"))
    with pytest.raises(ProcessorError, match="Transaction is frozen") as refused:
        await gateway.refund(CARD_TRUST, idempotency_key="k", metadata={})
    assert not refused.value.retryable
    assert refunds_in(standin, CARD_TRUST) == []


async def test_a_rate_limit_block_is_waited_out_once_not_hammered(
    standin: PayrixStandIn, gateway: PayrixGateway, waits: list[float]
) -> None:
    """Payrix blocks an endpoint for 10 s after 1,000 requests in 10 s (HTTP 429, code 64)."""
    standin.block()
    page = await gateway.list_disputes()
    assert page.items and waits == [10.0]
    assert len(standin.calls("GET", "/chargebacks")) == 2  # the blocked one and one after 10 s
    limited = {
        "errors": [
            {
                "code": 64,
                "severity": 2,
                "msg": "Too many",
                "errorCode": "C_RATE_LIMIT_EXCEEDED_TEMP_BLOCK",
            }
        ]
    }
    before = len(standin.calls("GET", "/chargebacks"))
    standin.respond_next("GET", "/chargebacks", {"response": {"data": [], **limited}})
    standin.respond_next("GET", "/chargebacks", limited, status=429)
    with pytest.raises(ProcessorError, match="blocking") as busy:
        await gateway.list_disputes()
    assert busy.value.retryable and waits == [10.0, 10.0]
    assert len(standin.calls("GET", "/chargebacks")) == before + 2  # one wait, then it gives up


async def test_an_informative_entry_does_not_fail_a_call(
    standin: PayrixStandIn, gateway: PayrixGateway
) -> None:
    """Severity 0 and 1 are information and warning (doc/models/error-item.md): processed."""
    standin.inform_next("The request was processed")
    txn = await gateway.get_transaction(CARD_TRUST)
    assert txn is not None and txn.id == CARD_TRUST
    assert standin.informed == ["txns"], "the notice came with the /txns answer"
    standin.inform_next("The request was processed")
    page = await gateway.list_transactions(TransactionQuery(search=CARD_TRUST))
    assert [t.id for t in page.items] == [CARD_TRUST]
    assert standin.informed == ["txns", "txns"]
    standin.respond_next(
        "GET", "/chargebacks", {"response": {"data": [], "errors": [{"severity": 2, "msg": "No"}]}}
    )
    with pytest.raises(ProcessorError, match="No"):
        await gateway.list_disputes()


async def test_outages_are_retryable_and_a_bad_key_is_not(
    standin: PayrixStandIn, gateway: PayrixGateway
) -> None:
    standin.respond_next("GET", "/chargebacks", {"oops": True}, status=503)
    with pytest.raises(ProcessorError) as down:
        await gateway.list_disputes()
    assert down.value.retryable

    wrong = PayrixGateway(PayrixClient(standin.url, "not-the-key"), MERCHANT)
    try:
        with pytest.raises(ProcessorError, match="refused the API key") as denied:
            await wrong.list_disputes()
    finally:
        await wrong.close()
    assert not denied.value.retryable

    nobody = PayrixGateway(PayrixClient("http://127.0.0.1:9", API_KEY), MERCHANT)
    try:
        with pytest.raises(ProcessorError, match="did not answer") as unreachable:
            await nobody.get_transaction(CARD_TRUST)
    finally:
        await nobody.close()
    assert unreachable.value.retryable


async def test_other_merchants_records_are_not_ours(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    record = standin.find("txns", CARD_TRUST)
    assert record is not None
    record["merchant"] = "t1_mer_someoneelse0000000000"
    assert await gateway.get_transaction(CARD_TRUST) is None


# ---------------------------------------------------------------------------------------------
# Search


async def test_searches_go_in_the_search_header(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    async def search(text: str) -> list[str]:
        page = await gateway.list_transactions(TransactionQuery(search=text, limit=50))
        return [t.id for t in page.items]

    assert len(await search("t1_txn_68ff")) == 6
    listing = standin.calls("GET", "/txns")[0]
    assert listing.search == (
        f"merchant[equals]={MERCHANT}&id[like]=t1_txn_68ff%25&created[sort]=desc&id[sort]=desc"
    )
    assert (listing.param("page[number]"), listing.param("page[limit]")) == ("1", "50")
    assert await search("2.59") == [CARD_TRUST, "t1_txn_68ffe1b1294cb1460be9b58"]
    assert len(await search("2e597269")) == 3  # the matter (in Actionstep's description)
    pham = await search("pham")  # no matter matches: the customer's last name is tried next
    assert pham == ["t1_txn_67b3df83cd1cf0de3c9f466", "t1_txn_6642a474b48c9839c02e229"]
    searched = [
        r.search or "" for r in standin.calls("GET", "/txns") if "25pham" in (r.search or "")
    ]
    assert [s.split("&")[1] for s in searched] == [
        "description[like]=%25pham%25",
        "last[like]=%25pham%25",
    ]
    refunds = await gateway.list_transactions(TransactionQuery(kind="refund", limit=10))  # type: ignore[arg-type]
    assert refunds.items == ()
    assert "type[in]=5,8" in (standin.calls("GET", "/txns")[-1].search or "")


async def test_a_cursor_from_another_listing_is_refused(gateway: PayrixGateway) -> None:
    page = await gateway.list_transactions(TransactionQuery(limit=2))
    assert page.next_cursor is not None
    with pytest.raises(ProcessorError, match="no longer valid"):
        await gateway.list_disputes(cursor=page.next_cursor)


# ---------------------------------------------------------------------------------------------
# Disputes


def open_chargeback(standin: PayrixStandIn, chargeback_id: str, reply: int) -> dict:
    """The recorded open chargeback, unanswered and due ``reply``: what a new one looks like."""
    record = copy.deepcopy(standin.find("chargebacks", ANSWERED))
    assert record is not None
    record.update(id=chargeback_id, reply=reply, txn=CARD_TRUST)
    return standin.add("chargebacks", record)


EVIDENCE = DisputeEvidence(
    summary="The client signed the engagement letter.",
    product_description="Legal services, matter 2e59.",
    service_date="2025-10-27",
)


async def test_first_chargeback_evidence_is_a_representment(
    gateway: PayrixGateway, standin: PayrixStandIn, clock: ManualClock
) -> None:
    cb = open_chargeback(standin, "t1_chb_needsresponse00000000001", 20261130)
    standin.add(
        "chargebackDocuments", {**standin.store["chargebackDocuments"][0], "chargeback": cb["id"]}
    )
    before = await gateway.get_dispute(cb["id"])
    assert before is not None and before.status is DisputeStatus.NEEDS_RESPONSE
    assert before.matter_id == "2e597269-b4fb-409f-b0f4-7d3084436cd4"

    after = await gateway.submit_dispute_evidence(
        cb["id"], EVIDENCE, idempotency_key="paybot-dispute-d1"
    )
    (post,) = standin.calls("POST", "/chargebackMessages")
    assert (
        post.headers["APIKEY"] == API_KEY and post.headers["request-token"] == "paybot-dispute-d1"
    )
    assert {k: post.body[k] for k in ("chargeback", "type", "date")} == {
        "chargeback": cb["id"],
        "type": "represent",
        "date": "20261116",
    }
    note = post.body["note"]
    for expected in (
        "Summary:\nThe client signed the engagement letter.",
        "Date of service:\n2025-10-27",
        "invoice 1.TIFF (tiff, t1_chd_6674682736b9b7bf2671e7e)",  # attached in Payrix's portal
        "[paybot paybot-dispute-d1]",
    ):
        assert expected in note
    assert after.evidence_submitted_at == clock()
    moved = await gateway.get_dispute(cb["id"])  # Payrix moved it to representment
    assert moved is not None and moved.status is DisputeStatus.UNDER_REVIEW

    again = await gateway.submit_dispute_evidence(
        cb["id"], EVIDENCE, idempotency_key="paybot-dispute-d1"
    )
    assert again.evidence_submitted_at == after.evidence_submitted_at
    assert len(standin.calls("POST", "/chargebackMessages")) == 1
    with pytest.raises(ProcessorError, match="under review"):
        await gateway.submit_dispute_evidence(cb["id"], EVIDENCE, idempotency_key="other")


async def test_an_actionable_case_after_a_response_still_takes_evidence(
    gateway: PayrixGateway, standin: PayrixStandIn, clock: ManualClock
) -> None:
    """The recorded case answered with ``respondToDispute`` is still open and actionable."""
    clock.advance(days=-(clock() - datetime(2024, 12, 1, tzinfo=UTC)).days)
    answered = await gateway.get_dispute(ANSWERED)
    assert answered is not None and answered.status is DisputeStatus.NEEDS_RESPONSE
    await gateway.submit_dispute_evidence(ANSWERED, EVIDENCE, idempotency_key="more-1")
    (post,) = standin.calls("POST", "/chargebackMessages")
    assert post.body["type"] == "represent"


@pytest.mark.parametrize(
    ("cycle", "message"),
    [
        ("retrieval", "represent"),
        ("first", "represent"),
        ("representment", "requestPreArbitration"),
        ("preArbitration", "requestArbitration"),
        ("issuerDeclinedPreArbitration", "requestArbitration"),
    ],
)
async def test_each_cycle_is_contested_with_its_own_message(
    gateway: PayrixGateway, standin: PayrixStandIn, cycle: str, message: str
) -> None:
    cb = open_chargeback(standin, f"t1_chb_{cycle}"[:30].ljust(30, "0"), 20261130)
    cb["cycle"] = cycle
    await gateway.submit_dispute_evidence(cb["id"], EVIDENCE, idempotency_key="k")
    (post,) = standin.calls("POST", "/chargebackMessages")
    assert post.body["type"] == message


async def test_a_cycle_without_a_known_contest_is_refused_with_the_reason(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    cb = open_chargeback(standin, "t1_chb_compliance0000000000001", 20261130)
    cb["cycle"] = "compliance"
    with pytest.raises(ProcessorError, match=r"compliance cycle .* Payrix portal"):
        await gateway.submit_dispute_evidence(cb["id"], EVIDENCE, idempotency_key="k")
    assert standin.calls("POST", "/chargebackMessages") == []


async def test_accepting_liability_concedes_the_whole_amount_once(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    cb = open_chargeback(standin, "t1_chb_toaccept00000000000001", 20261130)
    accepted = await gateway.accept_dispute(cb["id"], idempotency_key="paybot-accept-x")
    assert accepted.status is DisputeStatus.ACCEPTED
    (post,) = standin.calls("POST", "/chargebackMessages")
    assert post.headers["request-token"] == "paybot-accept-x"
    assert {k: post.body[k] for k in ("chargeback", "type", "amount", "currency")} == {
        "chargeback": cb["id"],
        "type": "acceptLiability",
        "amount": 20000,
        "currency": "USD",
    }
    assert (await gateway.accept_dispute(cb["id"], idempotency_key="again")).status is (
        DisputeStatus.ACCEPTED
    )
    assert len(standin.calls("POST", "/chargebackMessages")) == 1


async def test_closed_and_overdue_disputes_take_nothing(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    with pytest.raises(ProcessorError, match="closed"):
        await gateway.submit_dispute_evidence(
            "t1_chb_6616a9f7c19a47bea938957", EVIDENCE, idempotency_key="k"
        )
    reviewed = open_chargeback(standin, "t1_chb_notactionable000000001", 20261130)
    reviewed["actionable"] = 0
    with pytest.raises(ProcessorError, match="under review"):
        await gateway.accept_dispute(reviewed["id"], idempotency_key="k")
    late = open_chargeback(standin, "t1_chb_overdue000000000000001", 20261101)
    with pytest.raises(ProcessorError, match="deadline"):
        await gateway.submit_dispute_evidence(late["id"], EVIDENCE, idempotency_key="k")
    with pytest.raises(ProcessorError, match="no Payrix chargeback"):
        await gateway.accept_dispute("t1_chb_nosuch", idempotency_key="k")
    assert standin.calls("POST", "/chargebackMessages") == []


async def test_open_disputes_soonest_deadline_first(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    open_chargeback(standin, "t1_chb_later0000000000000000001", 20261220)
    open_chargeback(standin, "t1_chb_sooner000000000000000001", 20261125)
    page = await gateway.list_disputes(open_only=True)
    assert [d.id for d in page.items] == [
        ANSWERED,  # due 2024-12-31, answered and still actionable: needs a response
        "t1_chb_sooner000000000000000001",
        "t1_chb_later0000000000000000001",
    ]
    assert standin.calls("GET", "/chargebacks")[-1].search == (
        f"merchant[equals]={MERCHANT}&status[equals]=open&reply[sort]=asc&id[sort]=asc"
    )
    everything = await gateway.list_disputes(limit=2)
    assert len(everything.items) == 2 and everything.next_cursor is not None


# ---------------------------------------------------------------------------------------------
# Returns, balance, daily totals


async def test_a_returned_echeck_is_a_return(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    record = standin.find("txns", ECHECK)
    assert record is not None
    record.update(status=5, returned="2025-10-30 10:00:00", modified="2025-10-30 10:00:00.0000")
    page = await gateway.list_returns()
    (payment_return,) = page.items
    assert (payment_return.transaction_id, payment_return.amount.minor) == (ECHECK, 159)
    assert payment_return.created_at == datetime(2025, 10, 30, 10, tzinfo=UTC)
    assert payment_return.code == "unknown"  # no /entityReturns record yet
    record["returned"] = "R01"  # a code in ``returned`` (a date field) is not read as the code
    assert (await gateway.list_returns()).items[0].code == "unknown"
    standin.add("entityReturns", entity_return(txn=ECHECK, code="R03"))
    assert (await gateway.list_returns()).items[0].code == "R03"
    assert "txn[in]=" + ECHECK in (standin.calls("GET", "/entityReturns")[-1].search or "")
    txn = await gateway.get_transaction(ECHECK)
    assert txn is not None and txn.status.value == "returned" and txn.return_code == "R03"


async def test_balance_is_the_merchant_entitys_fund(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    balance = await gateway.balance()
    assert (balance.available.minor, balance.pending.minor) == (3524255, 1260)  # floats, rounded
    assert standin.calls("GET", f"/merchants/{MERCHANT}")
    assert standin.calls("GET", "/funds")[-1].search == (
        "entity[equals]=t1_ent_65f097a1c57793ba6dad9bf&id[sort]=asc"
    )
    await gateway.balance()
    assert len(standin.calls("GET", f"/merchants/{MERCHANT}")) == 1  # the entity is remembered


async def test_daily_totals_per_utc_day(
    gateway: PayrixGateway, standin: PayrixStandIn, clock: ManualClock
) -> None:
    """Payrix's own sums whenever its first answer carries them, split in halves where not
    zero; a Payrix that sends none is walked and added up here, to the same totals."""
    summed = await gateway.daily_totals(date(2025, 10, 1), date(2026, 1, 1), UTC)
    assert [(d.day, d.payments, d.payments_minor) for d in summed] == [
        (date(2025, 10, 27), 4, 927),  # two approved-only eChecks are not payments yet
        (date(2025, 12, 16), 5, 5000),
    ]
    sums = [c for c in standin.calls("GET", "/txns") if c.headers.get("totals")]
    assert sums[0].headers["totals"] == "sum[]=total&count[]=id"
    assert (
        f"merchant[equals]={MERCHANT}&type[in]=1,3,7,11&status[in]=0,3,4,5"
        "&created[greater]=2025-09-30%2023:59:59&created[less]=2026-01-01%2000:00:00"
        "&id[sort]=asc"
    ) == sums[0].search, "the first request is the payments' sum"
    walked = f"merchant[equals]={MERCHANT}&created[greater]=2025-09-30%2023:59:59"
    walked += "&created[less]=2026-01-01%2000:00:00&id[sort]=asc"
    assert walked not in [c.search for c in standin.calls("GET", "/txns")], "no walk"

    standin.requests.clear()
    standin.sums = False  # a Payrix that sends no sums: walked and added up here
    assert await gateway.daily_totals(date(2025, 10, 1), date(2026, 1, 1), UTC) == summed
    assert walked in [c.search for c in standin.calls("GET", "/txns")]
    assert len([c for c in standin.requests if c.headers.get("totals")]) == 1, "asked once"
    standin.sums = True
    disputes = await gateway.daily_totals(date(2024, 4, 10), date(2024, 4, 11), UTC)
    assert [(d.disputes, d.disputes_minor, d.disputes_lost_minor) for d in disputes] == [
        (3, 60000, 10000)  # lost (accepted) 100.00; 300.00 closed (no winner named), 200.00 open
    ]
    await gateway.refund(CARD_TRUST, idempotency_key="k", metadata={})
    today = await gateway.daily_totals(clock().date(), clock().date() + timedelta(days=1), UTC)
    assert [(d.refunds, d.refunds_minor) for d in today] == [(1, 259)]


async def test_a_busy_period_is_summed_day_by_day_and_agrees_with_the_walk(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    """As many records as days: one sum a day at once, not halving down to each day."""
    recorded = standin.find("txns", CARD_TRUST)
    assert recorded is not None
    for number in range(12):  # two payments a day, 2026-02-01 to 2026-02-06
        made = f"2026-02-0{1 + number // 2} 1{number % 2}:00:00.0000"
        standin.add(
            "txns",
            {**copy.deepcopy(recorded), "id": f"t1_txn_busy{number:019d}", "created": made}
            | {"modified": made, "total": 1000 + number},
        )
    week = (date(2026, 2, 1), date(2026, 2, 7))
    summed = await gateway.daily_totals(*week, UTC)
    assert [(d.day.day, d.payments, d.payments_minor) for d in summed] == [
        (day, 2, 2001 + 4 * (day - 1)) for day in range(1, 7)
    ]
    payments = [
        c
        for c in standin.calls("GET", "/txns")
        if c.headers.get("totals") and "type[in]=1,3,7,11" in (c.search or "")
    ]
    assert len(payments) == 1 + 6, "the period, then each day once"
    standin.sums = False
    assert await gateway.daily_totals(*week, UTC) == summed, "the walk agrees"


async def test_the_sums_and_the_walk_count_the_same_lost_disputes(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    """Lost, as the dispute's badge says: Payrix's ``lost``, liability accepted on a case Payrix
    has not closed yet, and closed in a lost cycle; not won, not closed with no winner named."""
    recorded = standin.find("chargebacks", ANSWERED)
    accept = next(m for m in standin.store["chargebackMessages"] if m["type"] == "acceptLiability")
    assert recorded is not None
    cases = {  # status, cycle, total; all made on 2024-04-10 with the recorded three
        "t1_chb_arbitrationlost00000001": ("closed", "arbitrationLost", 40000),
        "t1_chb_acceptednotyetlost00001": ("open", "first", 50000),
        "t1_chb_arbitrationwon000000001": ("won", "arbitrationWon", 60000),
        "t1_chb_closedinreversal0000001": ("closed", "reversal", 70000),
    }
    for number, (case_id, (status, cycle, total)) in enumerate(cases.items()):
        made = f"2024-04-10 12:0{number}:00.0000"
        standin.add(
            "chargebacks",
            {**copy.deepcopy(recorded), "id": case_id, "status": status, "cycle": cycle}
            | {"total": total, "created": made, "modified": made},
        )
    standin.add(
        "chargebackMessages",
        {**copy.deepcopy(accept), "id": "t1_chm_acceptednotyetlost00001"}
        | {"chargeback": "t1_chb_acceptednotyetlost00001"},
    )
    day = (date(2024, 4, 10), date(2024, 4, 11))
    summed = await gateway.daily_totals(*day, UTC)
    assert [(d.disputes, d.disputes_minor, d.disputes_lost_minor) for d in summed] == [
        (7, 280000, 100000)  # 100.00 lost + 400.00 arbitration lost + 500.00 accepted
    ]
    asked = [c for c in standin.calls("GET", "/chargebacks")]
    assert any("status[equals]=lost" in (c.search or "") for c in asked if c.headers.get("totals"))
    unsettled = [c.search or "" for c in asked if not c.headers.get("totals")]
    assert unsettled and all("status[notin]=lost,won" in s for s in unsettled)
    standin.sums = False
    assert await gateway.daily_totals(*day, UTC) == summed, "the walk agrees"


# ---------------------------------------------------------------------------------------------
# Events


async def test_the_event_feed_reads_changes_oldest_first_with_stable_ids(
    standin: PayrixStandIn, clock: ManualClock
) -> None:
    client = PayrixClient(standin.url, API_KEY)
    gateway = PayrixGateway(
        client, MERCHANT, clock=clock, first_poll_lookback=timedelta(days=365 * 3)
    )
    try:
        first = await gateway.events(None, 100)
        ids = [e.id for e in first.events]
        disputes = [e.id for e in first.events if e.type.value.startswith("dispute.")]
        assert disputes == [
            "t1_chb_6616a9b87fce852bab31384.created",
            "t1_chb_6616a9de06fd751e5ae91e5.created",
            "t1_chb_6616a9de06fd751e5ae91e5.cycle.first.2024-12-31",  # its cycle and reply-by
            "t1_chb_6616a9f7c19a47bea938957.created",
            "t1_chs_66173611ab3e030eb8b9b4e",  # Payrix's own id for "lost"
            "t1_chb_6616a9b87fce852bab31384.cycle.first.2024-12-31",
            "t1_chs_66746838179377f5d203381",
            "t1_chb_6616a9f7c19a47bea938957.cycle.first.2024-12-31",
        ]  # the other nine status records are of unrecorded chargebacks
        assert len(set(ids)) == len(ids), "an event two feeds tell is in the batch once"
        by_id = {e.id: e for e in first.events}
        lost = by_id["t1_chs_66173611ab3e030eb8b9b4e"]
        assert lost.type is EventType.DISPUTE_UPDATED
        assert lost.data["status"] == "accepted" and lost.data["payrix_status"] == "lost"
        assert by_id["t1_chs_66746838179377f5d203381"].data["status"] == "closed"
        payments = [e for e in first.events if e.type is EventType.PAYMENT_CREATED]
        assert len(payments) == 14 and len({e.object_id for e in payments}) == 14
        paid = [e.object_id for e in first.events if e.type is EventType.WITHDRAWAL_PAID]
        assert paid == ["t1_dbm_68ffcb2e5f4a3b2c1d0e002", "t1_dbm_6941c29a1d2b6c4f5e7a001"]
        assert first.cursor is not None and len(first.cursor) <= 200

        quiet = await gateway.events(first.cursor, 100)
        assert quiet.events == () and quiet.cursor == first.cursor

        again = await gateway.events(None, 100)
        assert [e.id for e in again.events] == ids, "read again, the same ids: dedupe works"

        record = standin.find("txns", ECHECK)
        assert record is not None
        record.update(status=5, returned=20261116, modified="2026-11-16 14:00:00.0000")
        refund = await gateway.refund(CARD_TRUST, idempotency_key="k", metadata={})
        later = await gateway.events(first.cursor, 100)
        assert [(e.id, e.type) for e in later.events] == [
            (f"{ECHECK}.created", EventType.PAYMENT_CREATED),
            (f"{ECHECK}.returned", EventType.RETURN_CREATED),
            (f"{refund.id}.pending", EventType.REFUND_UPDATED),
        ]
        returned = later.events[1]
        assert returned.data["transaction_id"] == ECHECK and returned.data["amount_minor"] == 159
    finally:
        await gateway.close()


async def test_the_feed_pages_through_a_busy_period_without_skipping(
    standin: PayrixStandIn, clock: ManualClock
) -> None:
    """Thirty records at one instant, read eight at a time: each once, in order."""
    template = standin.find("txns", CARD_TRUST)
    assert template is not None
    for n in range(30):
        standin.add(
            "txns",
            {
                **copy.deepcopy(template),
                "id": f"t1_txn_busy{n:019d}",
                "modified": "2026-11-16 10:00:00.0000",
            },
        )
    gateway = PayrixGateway(PayrixClient(standin.url, API_KEY), MERCHANT, clock=clock)
    try:
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            batch = await gateway.events(cursor, 8)
            if batch.cursor == cursor:
                break
            seen += [e.object_id for e in batch.events]
            cursor = batch.cursor
    finally:
        await gateway.close()
    assert seen == [f"t1_txn_busy{n:019d}" for n in range(30)]


async def test_the_end_of_the_feed_is_found_by_the_newest_record_not_by_paging(
    standin: PayrixStandIn, clock: ManualClock
) -> None:
    """A first start asks each feed for its newest record (one request each), and reaches the
    cursor that reading every page of a busy feed reaches: nothing after it is news."""
    template = standin.find("txns", CARD_TRUST)
    assert template is not None
    for n in range(30):
        standin.add(
            "txns",
            {
                **copy.deepcopy(template),
                "id": f"t1_txn_busy{n:019d}",
                "modified": "2026-11-16 10:00:00.0000",
            },
        )
    gateway = PayrixGateway(
        PayrixClient(standin.url, API_KEY),
        MERCHANT,
        clock=clock,
        first_poll_lookback=timedelta(days=365 * 3),
    )
    try:
        paged = None
        for _ in range(50):
            batch = await gateway.events(paged, 8)
            if batch.cursor == paged:
                break
            paged = batch.cursor
        standin.requests.clear()
        end = await gateway.feed_end()
        feeds = ("/txns", "/chargebackStatuses", "/chargebacks", "/disbursements")
        assert [len(standin.calls("GET", path)) for path in feeds] == [1, 1, 1, 1]
        assert all(
            call.param("page[limit]") == "1"
            for path in feeds
            for call in standin.calls("GET", path)
        )
        assert end == paged
        assert (await gateway.events(end, 100)).events == ()
    finally:
        await gateway.close()


async def test_a_body_alone_is_never_believed(gateway: PayrixGateway) -> None:
    """Payrix signs no alert: without the sender's address (receive_webhook) nothing is read."""
    with pytest.raises(PaybotError, match="sender's address"):
        gateway.parse_webhook(b'{"event": "chargeback.created"}', {})


# ---------------------------------------------------------------------------------------------
# Start-up settings


def test_missing_settings_stop_start_up_naming_them(database_url: str) -> None:
    settings = Settings(payments_backend="payrix", database_url=database_url)
    with pytest.raises(ConfigError) as missing:
        create_gateway(settings, None, ManualClock())  # type: ignore[arg-type]
    assert str(missing.value) == (
        "PAYRIX_API_KEY and PAYRIX_MERCHANT_ID are not set: "
        "PAYMENTS_BACKEND=payrix needs the firm's Payrix API key and merchant id"
    )
    assert "\n" not in str(missing.value)
    settings = Settings(
        payments_backend="payrix",
        payrix_api_key="k",  # type: ignore[arg-type]
        payrix_merchant_id=MERCHANT,
        payrix_matter_field="notes",
    )
    with pytest.raises(ConfigError, match="PAYRIX_MATTER_FIELD is malformed"):
        create_gateway(settings, None, ManualClock())  # type: ignore[arg-type]


async def test_settings_make_a_working_gateway(standin: PayrixStandIn) -> None:
    settings = Settings(
        payments_backend="payrix",
        payrix_api_key=API_KEY,  # type: ignore[arg-type]
        payrix_merchant_id=MERCHANT,
        payrix_api_base=standin.url + "/",
        payrix_matter_field="order",
    )
    assert "standin-payrix-api-key" not in repr(settings)
    gateway = create_gateway(settings, None, ManualClock())  # type: ignore[arg-type]
    try:
        assert gateway.name == "payrix" and isinstance(gateway, Gateway)
        txn = await gateway.get_transaction(ECHECK)
        assert txn is not None and txn.matter_id is None  # ``order`` is empty in the recording
    finally:
        await gateway.close()


async def test_a_duplicate_request_answer_is_taken_as_the_first(standin: PayrixStandIn) -> None:
    """A repeated REQUEST-TOKEN returns the original response flagged ``duplicateRequest``."""
    client = PayrixClient(standin.url, API_KEY)
    body = {"merchant": MERCHANT, "type": 5, "fortxn": CARD_TRUST, "total": 259}
    try:
        first = await client.create_once("txns", body, request_token="tok-1")
        again = await client.create_once("txns", {**body, "total": 1}, request_token="tok-1")
    finally:
        await client.close()
    assert not first.duplicate and again.duplicate
    assert again.record["id"] == first.record["id"] and again.record["total"] == 259
    assert len(refunds_in(standin, CARD_TRUST)) == 1


async def test_a_walk_pages_by_id_and_reads_each_record_once(standin: PayrixStandIn) -> None:
    """Payrix's api-call-syntax page: scripts page by id, not by page number, so a record whose
    ``modified`` changes during the walk is neither skipped nor read twice."""
    template = standin.find("txns", CARD_TRUST)
    assert template is not None
    for n in range(250):
        standin.add("txns", {**copy.deepcopy(template), "id": f"t1_txn_walk{n:019d}"})
    client = PayrixClient(standin.url, API_KEY)
    try:
        found = await client.walk("txns", [like("id", "t1_txn_walk%")])
    finally:
        await client.close()
    assert [r["id"] for r in found] == [f"t1_txn_walk{n:019d}" for n in range(250)]
    searches = [c.search or "" for c in standin.calls("GET", "/txns")]
    assert len(searches) == 3 and "id[greater]=t1_txn_walk0000000000000000099" in searches[1]
    assert all(c.param("page[number]") == "1" for c in standin.calls("GET", "/txns"))


LETTER = b"%PDF-1.4\n% the engagement letter\n" + b"x" * 4000


async def test_a_document_is_a_record_then_its_file_then_named_in_the_response(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    """Payrix's "respond to a chargeback dispute using the API": POST /chargebackDocuments, the
    file as multipart to /files/chargebackDocuments/{id}, then the chargebackMessages answer."""
    cb = open_chargeback(standin, "t1_chb_needsresponse00000000002", 20261130)
    letter = DocumentFile("engagement-letter.pdf", "application/pdf", LETTER)
    document_id = await gateway.upload_dispute_document(
        cb["id"], letter, idempotency_key="paybot-dispute-d2-doc-0"
    )
    (record,) = standin.calls("POST", "/chargebackDocuments")
    assert record.headers["APIKEY"] == API_KEY
    assert record.headers["request-token"] == "paybot-dispute-d2-doc-0"
    assert record.body == {
        "chargeback": cb["id"],
        "type": "pdf",
        "name": "engagement-letter.pdf",
        "description": "Sent by Paybot [paybot paybot-dispute-d2-doc-0]",
    }
    (upload,) = standin.calls("POST", f"/files/chargebackDocuments/{document_id}")
    assert upload.headers["APIKEY"] == API_KEY
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert upload.body == {
        "filename": "engagement-letter.pdf",
        "content_type": "application/pdf",
        "size": len(LETTER),
        "content": LETTER,
    }

    again = await gateway.upload_dispute_document(
        cb["id"], letter, idempotency_key="paybot-dispute-d2-doc-0"
    )
    assert again == document_id, "a retry finds the record by the key it carries"
    assert len(standin.calls("POST", "/chargebackDocuments")) == 1
    assert len(standin.calls("POST", f"/files/chargebackDocuments/{document_id}")) == 1

    await gateway.submit_dispute_evidence(
        cb["id"],
        EVIDENCE,
        idempotency_key="paybot-dispute-d2",
        documents=[SentDocument(document_id, "engagement-letter.pdf")],
    )
    (answer,) = standin.calls("POST", "/chargebackMessages")
    assert answer.body["type"] == "represent"
    assert (
        f"Documents sent with this response:\n- engagement-letter.pdf ({document_id})"
        in answer.body["note"]
    )
    calls = [c.path for c in standin.requests if c.method == "POST"]
    assert calls == [
        "/chargebackDocuments",
        f"/files/chargebackDocuments/{document_id}",
        "/chargebackMessages",
    ]


async def test_a_record_whose_file_never_arrived_gets_its_file_not_a_second_record(
    gateway: PayrixGateway, standin: PayrixStandIn
) -> None:
    """A crash between the record and its file: the retry finds the record (no ``ref`` yet) and
    sends the file to it."""
    cb = open_chargeback(standin, "t1_chb_needsresponse00000000003", 20261130)
    letter = DocumentFile("invoice.png", "image/png", b"\x89PNG" + b"z" * 100)
    record = await gateway._created(
        "chargebackDocuments",
        {
            "chargeback": cb["id"],
            "type": "png",
            "name": "invoice.png",
            "description": "Sent by Paybot [paybot k-doc-1]",
        },
        "k-doc-1",
    )
    made = await gateway.upload_dispute_document(cb["id"], letter, idempotency_key="k-doc-1")
    assert made == record["id"]
    assert len(standin.calls("POST", "/chargebackDocuments")) == 1
    (upload,) = standin.calls("POST", f"/files/chargebackDocuments/{made}")
    assert upload.body["filename"] == "invoice.png"
