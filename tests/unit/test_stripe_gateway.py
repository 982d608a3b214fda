"""The Stripe adapter against localstripe (through tests/localstripe_shim.py): lookups by exact id,
history pages, full refunds with our key and metadata, timeouts, Stripe's errors, the event feed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
import stripe
from aiohttp import web

from bot.domain import (
    Account,
    DisputeStatus,
    EventType,
    HistorySort,
    MethodType,
    PaymentKind,
    RefundStatus,
    TransactionQuery,
    TransactionStatus,
    WithdrawalStatus,
)
from bot.errors import ProcessorError
from bot.evidence import DisputeEvidence
from bot.processors.gateway import Gateway
from bot.processors.stripe import MetadataKeys, StripeConfig, StripeGateway, webhooks
from bot.processors.stripe.mapping import IDEMPOTENCY_KEY
from tests.conftest import free_port
from tests.stripe_support import (
    API_KEY,
    LocalStripe,
    StripeProxy,
    charge,
    payment_intent,
    refunds_of,
    run_localstripe,
    stripe_client,
    stripe_proxy,
)

REFUND_METADATA = {"paybot_request": "req-1", "reason": "Duplicate payment", "approver": "meg"}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalStripe]:
    with run_localstripe() as running:
        yield running


@pytest.fixture
def localstripe(server: LocalStripe) -> LocalStripe:
    server.flush()
    return server


@pytest.fixture
async def client(localstripe: LocalStripe) -> AsyncIterator[stripe.StripeClient]:
    async with stripe_client(localstripe.url) as made:
        yield made


def gateway_for(url: str, **options: object) -> StripeGateway:
    return StripeGateway(StripeConfig(api_key=API_KEY, api_base=url, **options))  # type: ignore[arg-type]


@pytest.fixture
async def gateway(localstripe: LocalStripe) -> AsyncIterator[StripeGateway]:
    made = gateway_for(localstripe.url)
    yield made
    await made.close()


# ---------------------------------------------------------------------------------------------
# Lookups and history


async def test_a_charge_by_its_exact_id(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    made = await charge(client, 12550, matter="MAT-1001", account="trust")
    txn = await gateway.get_transaction(made.id)
    assert txn is not None and txn.id == made.id
    assert (txn.kind, txn.status, txn.amount.minor) == (
        PaymentKind.SALE,
        TransactionStatus.SUCCEEDED,
        12550,
    )
    assert (txn.method.type, txn.method.last4, txn.method.brand) == (
        MethodType.CARD,
        "4242",
        "visa",
    )
    assert (txn.matter_id, txn.account) == ("MAT-1001", Account.TRUST)
    for near in (made.id[:-1], made.id + "x", made.id.upper(), "txn_" + made.id[3:], "ch_"):
        assert await gateway.get_transaction(near) is None, near


async def test_a_payment_intent_by_its_id_with_the_matter_on_the_intent(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    intent = await payment_intent(client, 30000, matter="MAT-2040", account="trust")
    txn = await gateway.get_transaction(intent.id)
    assert txn is not None and txn.id == intent.id
    assert (txn.status, txn.amount.minor, txn.matter_id, txn.account) == (
        TransactionStatus.SUCCEEDED,
        30000,
        "MAT-2040",
        Account.TRUST,
    )
    charge_id = intent.to_dict()["latest_charge"]["id"]
    by_charge = await gateway.get_transaction(charge_id)
    assert by_charge is not None and by_charge.matter_id == "MAT-2040"


async def test_an_uncaptured_charge_is_an_authorization(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    made = await charge(client, 4000, capture=False)
    txn = await gateway.get_transaction(made.id)
    assert txn is not None
    assert (txn.kind, txn.status) == (PaymentKind.AUTHORIZATION, TransactionStatus.AUTHORIZED)


async def test_history_pages_forward_and_back_newest_first(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    made = [await charge(client, 100 + i) for i in range(5)]
    newest_first = [c.id for c in reversed(made)]
    first = await gateway.list_transactions(TransactionQuery(limit=2))
    assert [t.id for t in first.items] == newest_first[:2] and first.prev_cursor is None
    second = await gateway.list_transactions(TransactionQuery(limit=2, cursor=first.next_cursor))
    assert [t.id for t in second.items] == newest_first[2:4]
    third = await gateway.list_transactions(TransactionQuery(limit=2, cursor=second.next_cursor))
    assert [t.id for t in third.items] == newest_first[4:] and third.next_cursor is None
    back = await gateway.list_transactions(TransactionQuery(limit=2, cursor=third.prev_cursor))
    assert [t.id for t in back.items] == newest_first[2:4]
    top = await gateway.list_transactions(TransactionQuery(limit=2, cursor=back.prev_cursor))
    assert [t.id for t in top.items] == newest_first[:2] and top.prev_cursor is None


async def test_history_filters_by_kind_and_finds_a_whole_id(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    sale = await charge(client, 1000)
    authorization = await charge(client, 2000, capture=False)
    await gateway.refund(sale.id, idempotency_key="k-history", metadata=REFUND_METADATA)
    only = await gateway.list_transactions(TransactionQuery(kind=PaymentKind.AUTHORIZATION))
    assert [t.id for t in only.items] == [authorization.id]
    refunds = await gateway.list_transactions(TransactionQuery(kind=PaymentKind.REFUND))
    assert [(t.kind, t.original_id) for t in refunds.items] == [(PaymentKind.REFUND, sale.id)]
    found = await gateway.list_transactions(TransactionQuery(search=sale.id))
    assert [t.id for t in found.items] == [sale.id]
    assert found.items[0].refunds[0].status is RefundStatus.SUCCEEDED


async def test_orders_stripe_cannot_give_are_refused_with_a_reason(gateway: StripeGateway) -> None:
    for sort in (HistorySort.OLDEST, HistorySort.AMOUNT):
        with pytest.raises(ProcessorError, match="newest first only") as refused:
            await gateway.list_transactions(TransactionQuery(sort=sort))
        assert refused.value.retryable is False
    with pytest.raises(ProcessorError, match="no longer valid"):
        await gateway.list_transactions(TransactionQuery(cursor="payouts|after|po_1"))


# ---------------------------------------------------------------------------------------------
# Refunds


async def test_a_full_refund_with_our_key_and_metadata_and_a_replay_makes_no_second(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    made = await charge(client, 25000)
    refund = await gateway.refund(
        made.id, idempotency_key="paybot-refund-1", metadata=REFUND_METADATA
    )
    again = await gateway.refund(
        made.id, idempotency_key="paybot-refund-1", metadata=REFUND_METADATA
    )
    assert again.id == refund.id and refund.amount.minor == 25000
    (stored,) = await refunds_of(client, made.id)
    assert stored["amount"] == 25000
    assert stored["metadata"] == {**REFUND_METADATA, IDEMPOTENCY_KEY: "paybot-refund-1"}
    with pytest.raises(ProcessorError, match="already been refunded") as refused:
        await gateway.refund(made.id, idempotency_key="paybot-refund-2", metadata=REFUND_METADATA)
    assert refused.value.retryable is False
    assert len(await refunds_of(client, made.id)) == 1
    fetched = await gateway.get_refund(refund.id)
    assert fetched is not None and fetched.transaction_id == made.id


async def test_a_payment_intent_is_refunded_through_its_charge(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    intent = await payment_intent(client, 7000)
    refund = await gateway.refund(intent.id, idempotency_key="k-pi", metadata=REFUND_METADATA)
    charge_id = intent.to_dict()["latest_charge"]["id"]
    assert refund.transaction_id == charge_id
    txn = await gateway.get_transaction(intent.id)
    assert txn is not None and [r.id for r in txn.refunds] == [refund.id]


async def test_refunds_that_cannot_be_are_refused_before_stripe_is_asked(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    with pytest.raises(ProcessorError, match="needs an idempotency key"):
        await gateway.refund("ch_whatever", idempotency_key="", metadata={})
    with pytest.raises(ProcessorError, match="no Stripe payment txn_1"):
        await gateway.refund("txn_1", idempotency_key="k", metadata={})
    with pytest.raises(ProcessorError, match="no Stripe payment ch_missing"):
        await gateway.refund("ch_missing", idempotency_key="k", metadata={})
    authorization = await charge(client, 900, capture=False)
    with pytest.raises(ProcessorError, match="never captured"):
        await gateway.refund(authorization.id, idempotency_key="k", metadata={})
    assert await refunds_of(client, authorization.id) == []


@pytest.fixture
async def proxy(localstripe: LocalStripe) -> AsyncIterator[StripeProxy]:
    async with stripe_proxy(localstripe.url) as running:
        yield running


async def test_a_timed_out_refund_is_retryable_and_the_retry_finds_it_with_the_same_key(
    proxy: StripeProxy, client: stripe.StripeClient
) -> None:
    made = await charge(client, 9900)
    gateway = gateway_for(proxy.url, timeout=0.5)
    proxy.delay_refunds = 1
    try:
        with pytest.raises(ProcessorError, match="did not answer in time") as timed_out:
            await gateway.refund(
                made.id, idempotency_key="paybot-refund-t", metadata=REFUND_METADATA
            )
        assert timed_out.value.retryable is True
        refund = await gateway.refund(
            made.id, idempotency_key="paybot-refund-t", metadata=REFUND_METADATA
        )
    finally:
        await gateway.close()
    (stored,) = await refunds_of(client, made.id)
    assert stored["id"] == refund.id
    assert proxy.refund_keys == ["paybot-refund-t"], "one creation, with our key; none invented"


@pytest.mark.parametrize(
    ("status", "error", "retryable", "said"),
    [
        (
            429,
            {"type": "invalid_request_error", "message": "Too many requests"},
            True,
            "rate limiting",
        ),
        (500, {"type": "api_error", "message": "Something went wrong"}, True, "HTTP 500"),
        (
            400,
            {"type": "invalid_request_error", "code": "charge_disputed", "message": "x"},
            False,
            "disputed",
        ),
        (
            401,
            {"type": "invalid_request_error", "message": "Invalid API Key"},
            False,
            "STRIPE_API_KEY",
        ),
    ],
)
async def test_stripe_answers_become_clear_errors(
    proxy: StripeProxy, status: int, error: dict[str, object], retryable: bool, said: str
) -> None:
    gateway = gateway_for(proxy.url, read_retries=0)
    proxy.fail_with = (status, error)
    try:
        with pytest.raises(ProcessorError, match=said) as failed:
            await gateway.refund("ch_anything", idempotency_key="k", metadata={})
    finally:
        await gateway.close()
    assert failed.value.retryable is retryable


async def test_stripe_unreachable_is_retryable() -> None:
    gateway = gateway_for(f"http://127.0.0.1:{free_port()}", read_retries=0)
    try:
        with pytest.raises(ProcessorError, match="could not be reached") as failed:
            await gateway.get_transaction("ch_1")
    finally:
        await gateway.close()
    assert failed.value.retryable is True


# ---------------------------------------------------------------------------------------------
# Withdrawals, returns, balance, totals, events


async def test_payouts_are_withdrawals_and_the_event_feed_reads_them_oldest_first(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    nothing = await gateway.events(None)
    assert nothing.events == () and nothing.cursor is None
    assert await gateway.feed_end() is None
    first = await client.v1.payouts.create_async(
        {"amount": 1000, "currency": "eur", "status": "paid"}
    )
    second = await client.v1.payouts.create_async(
        {"amount": 2000, "currency": "eur", "status": "paid"}
    )
    await client.v1.payouts.create_async({"amount": 3000, "currency": "eur"})  # pending: no event

    batch = await gateway.events(None, limit=1)
    assert [(e.type, e.object_id) for e in batch.events] == [(EventType.WITHDRAWAL_PAID, first.id)]
    batch = await gateway.events(batch.cursor)
    assert [e.object_id for e in batch.events] == [second.id]
    assert batch.events[0].data["status"] == "paid" and batch.events[0].data["amount_minor"] == 2000
    unchanged = await gateway.events(batch.cursor)
    assert unchanged.events == () and unchanged.cursor == batch.cursor
    assert await gateway.feed_end() == batch.cursor  # the newest event, asked for, not paged to

    page = await gateway.list_withdrawals(limit=2)
    assert [w.amount.minor for w in page.items] == [3000, 2000]
    assert [w.status for w in page.items] == [WithdrawalStatus.PENDING, WithdrawalStatus.PAID]
    rest = await gateway.list_withdrawals(limit=2, cursor=page.next_cursor)
    assert [w.id for w in rest.items] == [first.id]


async def test_charge_refunded_names_the_refund_it_announces_from_the_listed_refunds(
    proxy: StripeProxy, client: stripe.StripeClient
) -> None:
    """Since API version 2022-11-15 a charge no longer embeds its refunds: the event's refund is
    found by listing the charge's refunds, never taken to be the charge's id."""
    made = await charge(client, 4200)
    refund = await client.v1.refunds.create_async({"charge": made.id})
    refunded = (await client.v1.charges.retrieve_async(made.id)).to_dict()
    refunded.pop("refunds", None)
    created = int(refund.created) + 1
    proxy.events.append(
        {
            "id": "evt_charge_refunded_1",
            "object": "event",
            "type": "charge.refunded",
            "created": created,
            "data": {"object": refunded},
        }
    )
    gateway = gateway_for(proxy.url)
    try:
        batch = await gateway.events(None)
        [found] = [e for e in batch.events if e.id == "evt_charge_refunded_1"]
        assert (found.type, found.object_id) == (EventType.REFUND_UPDATED, refund.id)
        assert found.data["transaction_id"] == made.id and found.data["refund_id"] == refund.id
        # A webhook cannot list them in time: it leaves the event to the feed, mapping nothing.
        assert webhooks.processor_event(proxy.events[0], MetadataKeys()) is None
    finally:
        await gateway.close()


async def test_a_cursor_stripe_no_longer_has_starts_the_feed_again(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    payout = await client.v1.payouts.create_async(
        {"amount": 1000, "currency": "eur", "status": "paid"}
    )
    batch = await gateway.events("evt_forgotten")
    assert [e.object_id for e in batch.events] == [payout.id]


async def test_returns_disputes_balance_and_totals_over_an_account_without_them(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    await charge(client, 12550)
    await charge(client, 500, capture=False)
    assert (await gateway.list_returns()).items == ()
    assert (await gateway.list_disputes(open_only=True)).items == ()
    assert await gateway.get_dispute("dp_missing") is None
    balance = await gateway.balance()
    assert balance.available.currency  # localstripe keeps a fixed EUR balance
    today = datetime.now(UTC).date()
    (totals,) = await gateway.daily_totals(today, today + timedelta(days=1), UTC)
    assert (totals.day, totals.payments, totals.payments_minor) == (today, 1, 12550)
    assert await gateway.daily_totals(date(2020, 1, 1), date(2020, 1, 2), UTC) == []


# ---------------------------------------------------------------------------------------------
# Disputes: localstripe has none, so a Stripe-shaped desk serves one built with stripe.Dispute


@dataclass
class DisputeDesk:
    """GET/POST /v1/disputes/{id} and POST …/close over one dispute, recording what was sent."""

    dispute: dict[str, Any]
    posts: list[tuple[str, dict[str, str], str | None]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["id"] != self.dispute["id"]:
            error = {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "message": "No such dispute",
            }
            return web.json_response({"error": error}, status=404)
        if request.method == "POST":
            form = dict(parse_qsl(await request.text()))
            self.posts.append((request.path, form, request.headers.get("Idempotency-Key")))
            metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
            self.dispute["metadata"] = {**self.dispute.get("metadata", {}), **metadata}
            if request.path.endswith("/close"):
                self.dispute["status"] = "lost"
            elif form.get("submit") == "true":
                self.dispute["status"] = "under_review"
                self.dispute["evidence_details"]["submission_count"] += 1
        return web.json_response(self.dispute)


@pytest.fixture
async def desk() -> AsyncIterator[DisputeDesk]:
    made = DisputeDesk(
        stripe.Dispute.construct_from(
            {
                "id": "dp_1Q0desk000000001",
                "object": "dispute",
                "amount": 12550,
                "currency": "usd",
                "charge": {
                    "id": "ch_1Q0desk",
                    "object": "charge",
                    "metadata": {"matter_id": "MAT-9"},
                },
                "payment_intent": None,
                "created": int(datetime.now(UTC).timestamp()) - 86400,
                "evidence_details": {
                    "due_by": int(datetime.now(UTC).timestamp()) + 6 * 86400,
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "metadata": {},
                "reason": "fraudulent",
                "network_reason_code": "10.4",
                "status": "needs_response",
            },
            None,
        ).to_dict()
    )
    app = web.Application()
    app.router.add_route("*", "/v1/disputes/{id}", made.handle)
    app.router.add_post("/v1/disputes/{id}/close", made.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    made.url = f"http://127.0.0.1:{port}"
    yield made
    await runner.cleanup()


EVIDENCE = DisputeEvidence(
    summary="The client signed the engagement letter",
    product_description="Legal advice",
    service_date="2026-11-02",
)


async def test_evidence_is_staged_and_submitted_once_with_our_key(desk: DisputeDesk) -> None:
    gateway = gateway_for(desk.url)
    try:
        found = await gateway.get_dispute(desk.dispute["id"])
        assert found is not None and found.status is DisputeStatus.NEEDS_RESPONSE
        assert found.matter_id == "MAT-9"
        submitted = await gateway.submit_dispute_evidence(
            desk.dispute["id"], EVIDENCE, idempotency_key="paybot-evidence-1"
        )
        again = await gateway.submit_dispute_evidence(
            desk.dispute["id"], EVIDENCE, idempotency_key="paybot-evidence-1"
        )
        with pytest.raises(ProcessorError, match="already submitted"):
            await gateway.submit_dispute_evidence(
                desk.dispute["id"], EVIDENCE, idempotency_key="paybot-evidence-2"
            )
    finally:
        await gateway.close()
    assert submitted.status is again.status is DisputeStatus.UNDER_REVIEW
    assert submitted.evidence_submitted_at is not None
    ((path, form, key),) = desk.posts
    assert path == f"/v1/disputes/{desk.dispute['id']}"
    assert key == "paybot-evidence-1" and form["submit"] == "true"
    assert form["evidence[product_description]"] == "Legal advice"
    assert form["evidence[service_date]"] == "2026-11-02"
    assert form["evidence[uncategorized_text]"].startswith("Summary: The client signed")
    assert form["metadata[paybot_evidence_key]"] == "paybot-evidence-1"


async def test_evidence_after_the_deadline_is_refused_without_asking_stripe(
    desk: DisputeDesk,
) -> None:
    desk.dispute["evidence_details"]["due_by"] = int(datetime.now(UTC).timestamp()) - 60
    gateway = gateway_for(desk.url)
    try:
        with pytest.raises(ProcessorError, match="deadline"):
            await gateway.submit_dispute_evidence(desk.dispute["id"], EVIDENCE, idempotency_key="k")
    finally:
        await gateway.close()
    assert desk.posts == []


async def test_accepting_closes_the_dispute_and_it_reads_as_accepted(desk: DisputeDesk) -> None:
    gateway = gateway_for(desk.url)
    try:
        accepted = await gateway.accept_dispute(
            desk.dispute["id"], idempotency_key="paybot-accept-1"
        )
        again = await gateway.accept_dispute(desk.dispute["id"], idempotency_key="paybot-accept-1")
    finally:
        await gateway.close()
    assert accepted.status is again.status is DisputeStatus.ACCEPTED
    assert [(path.rsplit("/", 1)[-1], key) for path, _, key in desk.posts] == [
        (desk.dispute["id"], "paybot-accept-1:mark"),
        ("close", "paybot-accept-1"),
    ]


async def test_a_dispute_under_review_cannot_be_accepted(desk: DisputeDesk) -> None:
    desk.dispute["status"] = "under_review"
    gateway = gateway_for(desk.url)
    try:
        with pytest.raises(ProcessorError, match="under review"):
            await gateway.accept_dispute(desk.dispute["id"], idempotency_key="k")
        assert await gateway.get_dispute("dp_other") is None
        assert await gateway.get_dispute("not_a_dispute") is None
    finally:
        await gateway.close()
    assert desk.posts == []


def test_the_adapter_is_a_gateway() -> None:
    assert isinstance(gateway_for("http://127.0.0.1:1"), Gateway)
