"""The Stripe mapping on objects built with the stripe SDK's own classes, in the shapes Stripe
documents: disputes, payouts, balances and ACH failures that localstripe cannot produce; events,
webhook signatures, error translation and the settings that start the adapter."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest
import stripe

from bot.clock import utcnow
from bot.config import load_settings
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
from bot.errors import ConfigError, PaybotError, ProcessorError
from bot.evidence import DisputeEvidence
from bot.processors.factory import create_gateway
from bot.processors.stripe import MetadataKeys, StripeGateway, mapping, webhooks
from bot.processors.stripe.disputes import stripe_evidence
from bot.processors.stripe.errors import translate
from bot.processors.stripe.search import search_query
from bot.processors.stripe.totals import summarise

KEYS = MetadataKeys()
CREATED = 1_795_000_000  # 2026-11-18 08:26:40 UTC
DUE = CREATED + 7 * 86_400
SECRET = "whsec_unit_0123456789"


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def card_charge(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": "ch_3Q0card000000001",
        "object": "charge",
        "amount": 12550,
        "amount_refunded": 0,
        "captured": True,
        "created": CREATED,
        "currency": "usd",
        "disputed": False,
        "failure_code": None,
        "metadata": {"matter_id": "MAT-7", "account": "trust"},
        "outcome": {"type": "authorized"},
        "paid": True,
        "payment_intent": "pi_3Q0card000000001",
        "payment_method": "pm_1Q0card000000001",
        "payment_method_details": {
            "type": "card",
            "card": {"brand": "mastercard", "last4": "4444", "network": "mastercard"},
        },
        "billing_details": {"name": "Dana Client"},
        "refunded": False,
        "status": "succeeded",
    }
    values.update(overrides)
    return values


def ach_charge(**overrides: Any) -> dict[str, Any]:
    values = card_charge(
        id="py_3Q0ach0000000001",
        payment_method_details={
            "type": "us_bank_account",
            "us_bank_account": {"bank_name": "STRIPE TEST BANK", "last4": "6789"},
        },
        status="failed",
        failure_code="insufficient_funds",
        failure_message="The customer's account has insufficient funds.",
        outcome={"type": "issuer_declined"},
        paid=False,
    )
    values.update(overrides)
    return values


def dispute(**overrides: Any) -> stripe.Dispute:
    values: dict[str, Any] = {
        "id": "dp_1Q0dispute0000001",
        "object": "dispute",
        "amount": 12550,
        "currency": "usd",
        "charge": card_charge(),
        "payment_intent": None,
        "created": CREATED,
        "evidence_details": {
            "due_by": DUE,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10.4",
        "reason": "product_not_received",
        "status": "needs_response",
    }
    values.update(overrides)
    return stripe.Dispute.construct_from(values, None)


# ---------------------------------------------------------------------------------------------
# Charges


def test_a_card_charge_reads_as_a_sale_with_brand_last_four_matter_and_account() -> None:
    txn = mapping.transaction_of(card_charge(), KEYS)
    assert (txn.kind, txn.status) == (PaymentKind.SALE, TransactionStatus.SUCCEEDED)
    assert str(txn.method) == "Mastercard •••• 4444"
    assert (txn.matter_id, txn.account, txn.customer_name) == (
        "MAT-7",
        Account.TRUST,
        "Dana Client",
    )
    assert txn.amount.minor == 12550 and txn.amount.currency == "USD"


def test_the_matter_on_the_payment_intent_counts_and_the_charge_wins() -> None:
    intent = {"id": "pi_1", "metadata": {"matter_id": "MAT-PI", "account": "trust"}}
    charge = card_charge(metadata={})
    assert mapping.transaction_of(charge, KEYS, intent=intent).matter_id == "MAT-PI"
    charge = card_charge(metadata={"matter_id": "MAT-CH"})
    assert mapping.transaction_of(charge, KEYS, intent=intent).matter_id == "MAT-CH"
    custom = MetadataKeys(matter="clio_matter", account="bank")
    charge = card_charge(metadata={"clio_matter": "00042", "bank": "TRUST"})
    txn = mapping.transaction_of(charge, custom)
    assert (txn.matter_id, txn.account) == ("00042", Account.TRUST)


@pytest.mark.parametrize(
    ("overrides", "kind", "status"),
    [
        ({"captured": False}, PaymentKind.AUTHORIZATION, TransactionStatus.AUTHORIZED),
        (
            {"captured": False, "refunded": True},
            PaymentKind.AUTHORIZATION,
            TransactionStatus.VOIDED,
        ),
        ({"status": "pending"}, PaymentKind.SALE, TransactionStatus.PENDING),
        (
            {"status": "failed", "failure_code": "card_declined"},
            PaymentKind.SALE,
            TransactionStatus.FAILED,
        ),
    ],
)
def test_charge_states(
    overrides: dict[str, Any], kind: PaymentKind, status: TransactionStatus
) -> None:
    txn = mapping.transaction_of(card_charge(**overrides), KEYS)
    assert (txn.kind, txn.status) == (kind, status)


def test_a_manual_capture_intent_makes_an_authorization() -> None:
    txn = mapping.transaction_of(card_charge(), KEYS, intent={"capture_method": "manual"})
    assert txn.kind is PaymentKind.AUTHORIZATION


def test_without_payment_method_details_the_payment_method_object_is_read() -> None:
    method = {"id": "pm_1", "type": "card", "card": {"brand": "visa", "last4": "4242"}}
    charge = card_charge(payment_method_details=None)
    assert (
        str(mapping.transaction_of(charge, KEYS, payment_method=method).method) == "Visa •••• 4242"
    )


def test_refusals_stripe_would_give_are_said_before_asking() -> None:
    assert "already been refunded" in str(mapping.charge_refusal(card_charge(refunded=True)))
    assert "partly refunded" in str(mapping.charge_refusal(card_charge(amount_refunded=500)))
    assert "under dispute at Stripe" in str(mapping.charge_refusal(card_charge(disputed=True)))
    assert "never captured" in str(mapping.charge_refusal(card_charge(captured=False)))
    assert mapping.charge_refusal(card_charge()) is None


# ---------------------------------------------------------------------------------------------
# ACH returns


def test_an_ach_debit_sent_back_is_a_return_with_its_nacha_code() -> None:
    charge = stripe.Charge.construct_from(ach_charge(), None)
    txn = mapping.transaction_of(charge.to_dict(), KEYS)
    assert (txn.status, txn.return_code) == (TransactionStatus.RETURNED, "R01")
    assert txn.method.type is MethodType.ACH and txn.method.last4 == "6789"
    returned = mapping.return_of(charge, KEYS)
    assert returned is not None
    assert (returned.id, returned.transaction_id, returned.code) == (charge.id, charge.id, "R01")
    assert returned.matter_id == "MAT-7"


def test_the_network_code_of_a_blocked_bank_account_names_the_return() -> None:
    charge = ach_charge(failure_code="bank_account_restricted")
    assert mapping.return_of(charge, KEYS) is None
    method = {
        "type": "us_bank_account",
        "us_bank_account": {
            "last4": "6789",
            "status_details": {"blocked": {"network_code": "R02", "reason": "bank_account_closed"}},
        },
    }
    returned = mapping.return_of(charge, KEYS, method)
    assert returned is not None and returned.code == "R02"


def test_card_failures_and_debits_refused_by_stripe_are_not_returns() -> None:
    assert (
        mapping.return_of(card_charge(status="failed", failure_code="card_declined"), KEYS) is None
    )
    blocked = ach_charge(outcome={"type": "blocked"}, failure_code="insufficient_funds")
    assert mapping.return_of(blocked, KEYS) is None
    assert mapping.transaction_of(blocked, KEYS).status is TransactionStatus.FAILED
    assert mapping.return_of(ach_charge(status="succeeded", failure_code=None), KEYS) is None


# ---------------------------------------------------------------------------------------------
# Disputes


@pytest.mark.parametrize(
    ("stripe_status", "ours"),
    [
        ("warning_needs_response", DisputeStatus.NEEDS_RESPONSE),
        ("needs_response", DisputeStatus.NEEDS_RESPONSE),
        ("appeal_needs_response", DisputeStatus.NEEDS_RESPONSE),
        ("warning_under_review", DisputeStatus.UNDER_REVIEW),
        ("under_review", DisputeStatus.UNDER_REVIEW),
        ("appeal_under_review", DisputeStatus.UNDER_REVIEW),
        ("won", DisputeStatus.WON),
        ("warning_closed", DisputeStatus.WON),
        ("prevented", DisputeStatus.WON),
        ("lost", DisputeStatus.LOST),
    ],
)
def test_every_stripe_dispute_status(stripe_status: str, ours: DisputeStatus) -> None:
    assert mapping.dispute_of(dispute(status=stripe_status), KEYS).status is ours


def test_a_dispute_reads_its_deadline_reason_and_matter_from_the_expanded_charge() -> None:
    found = mapping.dispute_of(dispute(), KEYS)
    assert found.id == "dp_1Q0dispute0000001"
    assert found.transaction_id == "ch_3Q0card000000001"
    assert (found.reason, found.network_reason_code) == ("product not received", "10.4")
    assert found.respond_by == at(DUE) and found.created_at == at(CREATED)
    assert found.matter_id == "MAT-7" and found.amount.minor == 12550
    unexpanded = mapping.dispute_of(dispute(charge="ch_plain", evidence_details={}), KEYS)
    assert (unexpanded.transaction_id, unexpanded.matter_id) == ("ch_plain", None)
    assert unexpanded.respond_by == at(CREATED)


def test_a_dispute_we_closed_is_accepted_and_one_we_lost_is_lost() -> None:
    accepted = dispute(status="lost", metadata={mapping.ACCEPTED_KEY: "k1"})
    assert mapping.dispute_of(accepted, KEYS).status is DisputeStatus.ACCEPTED
    assert mapping.dispute_of(dispute(status="lost"), KEYS).status is DisputeStatus.LOST


def test_evidence_submitted_by_us_carries_its_time() -> None:
    submitted = dispute(
        status="under_review",
        metadata={mapping.EVIDENCE_SUBMITTED_AT: "2026-11-19T10:00:00+00:00"},
    )
    assert mapping.dispute_of(submitted, KEYS).evidence_submitted_at == datetime(
        2026, 11, 19, 10, tzinfo=UTC
    )


def test_evidence_goes_into_stripes_text_fields() -> None:
    evidence = DisputeEvidence(
        summary="Work was delivered",
        product_description="Legal advice, 3 hours",
        customer_communication="Email of 12 Nov",
        service_date="2026-11-10",
        refund_policy="No refunds after delivery",
        other="",
    )
    fields = stripe_evidence(evidence)
    assert fields["product_description"] == "Legal advice, 3 hours"
    assert fields["service_date"] == "2026-11-10"
    assert fields["refund_policy_disclosure"] == "No refunds after delivery"
    assert fields["uncategorized_text"] == (
        "Summary: Work was delivered\n\nCustomer communication: Email of 12 Nov"
    )
    assert "Other" not in fields["uncategorized_text"]


# ---------------------------------------------------------------------------------------------
# Refunds, payouts, balance


def test_refund_statuses() -> None:
    base = {"id": "re_1", "object": "refund", "amount": 100, "currency": "usd", "charge": "ch_1"}
    for status, ours in mapping.REFUND_STATUSES.items():
        refund = mapping.refund_of(stripe.Refund.construct_from({**base, "status": status}, None))
        assert refund.status is ours and refund.transaction_id == "ch_1"
    failed = stripe.Refund.construct_from(
        {**base, "status": "failed", "failure_reason": "expired_or_canceled_card"}, None
    )
    assert mapping.refund_of(failed).failure_reason == "expired or canceled card"
    assert mapping.refund_of(failed).status is RefundStatus.FAILED


@pytest.mark.parametrize(
    ("status", "ours"),
    [
        ("pending", WithdrawalStatus.PENDING),
        ("in_transit", WithdrawalStatus.PENDING),
        ("paid", WithdrawalStatus.PAID),
        ("failed", WithdrawalStatus.FAILED),
        ("canceled", WithdrawalStatus.FAILED),
    ],
)
def test_payouts_are_withdrawals(status: str, ours: WithdrawalStatus) -> None:
    payout = stripe.Payout.construct_from(
        {
            "id": "po_1Q0payout00000001",
            "object": "payout",
            "amount": 250000,
            "currency": "usd",
            "arrival_date": DUE,
            "created": CREATED,
            "status": status,
            "automatic": True,
            "method": "standard",
        },
        None,
    )
    withdrawal = mapping.withdrawal_of(payout)
    assert (withdrawal.status, withdrawal.amount.minor, withdrawal.arrives_at) == (
        ours,
        250000,
        at(DUE),
    )


def test_the_balance_in_the_accounts_currency() -> None:
    balance = stripe.Balance.construct_from(
        {
            "object": "balance",
            "available": [
                {"amount": 500, "currency": "eur", "source_types": {"card": 500}},
                {"amount": 120000, "currency": "usd", "source_types": {"card": 120000}},
            ],
            "pending": [{"amount": -2500, "currency": "usd", "source_types": {"card": -2500}}],
            "livemode": False,
        },
        None,
    )
    found = mapping.balance_of(balance)
    assert (found.available.minor, found.pending.minor, found.available.currency) == (
        120000,
        -2500,
        "USD",
    )


def test_daily_totals_are_summed_per_utc_day() -> None:
    day = date(2026, 11, 18)
    charges = [
        card_charge(id="ch_a"),
        card_charge(id="ch_b", status="pending", amount=1000),
        card_charge(id="ch_c", captured=False, amount=999),  # authorization: no money moved
        card_charge(id="ch_d", status="failed", failure_code="card_declined", amount=777),
        ach_charge(amount=2000),
        card_charge(id="ch_e", currency="eur", amount=5),
        card_charge(id="ch_f", created=CREATED + 86_400 * 3),  # after the period
    ]
    refunds = [
        {"id": "re_a", "amount": 300, "currency": "usd", "status": "succeeded", "created": CREATED},
        {"id": "re_b", "amount": 400, "currency": "usd", "status": "failed", "created": CREATED},
    ]
    disputes = [
        dispute(status="lost").to_dict(),
        dispute(id="dp_b", amount=100, status="needs_response").to_dict(),
    ]
    (totals,) = summarise(charges, refunds, disputes, day, date(2026, 11, 20), "usd", UTC)
    assert totals.day == day and totals.currency == "USD"
    assert (totals.payments, totals.payments_minor, totals.pending_minor) == (3, 15550, 1000)
    assert (totals.returns, totals.returns_minor) == (1, 2000)
    assert (totals.refunds, totals.refunds_minor) == (1, 300)
    assert (totals.disputes, totals.disputes_minor, totals.disputes_lost_minor) == (2, 12650, 12550)


# ---------------------------------------------------------------------------------------------
# Events


def event(type_: str, obj: dict[str, Any], event_id: str = "evt_1Q0event0000001") -> stripe.Event:
    return stripe.Event.construct_from(
        {
            "id": event_id,
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": CREATED + 60,
            "data": {"object": obj},
            "livemode": False,
            "type": type_,
        },
        None,
    )


@pytest.mark.parametrize(
    ("type_", "ours"),
    [
        ("charge.dispute.created", EventType.DISPUTE_CREATED),
        ("charge.dispute.updated", EventType.DISPUTE_UPDATED),
        ("charge.dispute.closed", EventType.DISPUTE_UPDATED),
    ],
)
def test_dispute_events(type_: str, ours: EventType) -> None:
    body = dispute(charge="ch_3Q0card000000001").to_dict()
    found = webhooks.processor_event(event(type_, body), KEYS)
    assert found is not None
    assert (found.id, found.type, found.object_id) == ("evt_1Q0event0000001", ours, body["id"])
    assert found.data["transaction_id"] == "ch_3Q0card000000001"
    assert found.data["status"] == "needs_response" and found.created_at == at(CREATED + 60)


def test_refund_events() -> None:
    refund = {
        "id": "re_1",
        "object": "refund",
        "amount": 12550,
        "currency": "usd",
        "charge": "ch_1",
        "status": "failed",
        "failure_reason": "lost_or_stolen_card",
        "metadata": {"paybot_request": "abc"},
    }
    for type_ in ("refund.updated", "refund.failed"):
        found = webhooks.processor_event(event(type_, refund), KEYS)
        assert found is not None and found.type is EventType.REFUND_UPDATED
        assert found.object_id == "re_1" and found.data["status"] == "failed"
        assert found.data["paybot_request"] == "abc"
    refunded = card_charge(
        refunded=True,
        amount_refunded=12550,
        refunds={"object": "list", "data": [{**refund, "status": "succeeded"}], "has_more": False},
    )
    found = webhooks.processor_event(event("charge.refunded", refunded), KEYS)
    assert found is not None and found.type is EventType.REFUND_UPDATED
    assert (found.object_id, found.data["transaction_id"], found.data["status"]) == (
        "re_1",
        refunded["id"],
        "succeeded",
    )


def test_an_ach_return_is_one_event_whichever_stripe_event_tells_it() -> None:
    charge = ach_charge()
    by_charge = webhooks.processor_event(event("charge.failed", charge, "evt_a"), KEYS)
    intent = {
        "id": "pi_3Q0ach0000000001",
        "object": "payment_intent",
        "amount": 12550,
        "currency": "usd",
        "latest_charge": charge["id"],
        "payment_method_types": ["us_bank_account"],
        "last_payment_error": {
            "code": "insufficient_funds",
            "payment_method": {"id": "pm_1", "type": "us_bank_account"},
        },
        "metadata": {"matter_id": "MAT-7"},
        "status": "requires_payment_method",
    }
    by_intent = webhooks.processor_event(
        event("payment_intent.payment_failed", intent, "evt_b"), KEYS
    )
    assert by_charge is not None and by_intent is not None
    assert by_charge.id == by_intent.id == f"return:{charge['id']}"
    assert by_charge.type is by_intent.type is EventType.RETURN_CREATED
    assert by_charge.data["code"] == by_intent.data["code"] == "R01"
    assert by_charge.data["transaction_id"] == by_intent.data["transaction_id"] == charge["id"]


def test_card_declines_and_other_events_are_not_ours() -> None:
    declined = card_charge(status="failed", failure_code="card_declined")
    assert webhooks.processor_event(event("charge.failed", declined), KEYS) is None
    intent = {
        "id": "pi_1",
        "latest_charge": "ch_1",
        "payment_method_types": ["card"],
        "last_payment_error": {"code": "card_declined", "payment_method": {"type": "card"}},
    }
    assert webhooks.processor_event(event("payment_intent.payment_failed", intent), KEYS) is None
    assert webhooks.processor_event(event("customer.created", {"id": "cus_1"}), KEYS) is None


def test_payout_events_are_withdrawals() -> None:
    payout = {"id": "po_1", "object": "payout", "amount": 100, "currency": "usd", "status": "paid"}
    found = webhooks.processor_event(event("payout.paid", payout), KEYS)
    assert found is not None and found.type is EventType.WITHDRAWAL_PAID
    failed = {**payout, "status": "failed", "failure_code": "account_closed"}
    found = webhooks.processor_event(event("payout.failed", failed), KEYS)
    assert found is not None and found.data["status"] == "failed"
    assert found.data["failure_code"] == "account_closed"


# ---------------------------------------------------------------------------------------------
# Webhook signatures (the SDK's own signing scheme: Stripe-Signature: t=…,v1=HMAC)


def signed(body: str, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    return {
        "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
            body, secret, timestamp
        )
    }


def payout_event_body() -> str:
    payout = {"id": "po_1", "object": "payout", "amount": 100, "currency": "usd", "status": "paid"}
    return json.dumps(event("payout.paid", payout).to_dict())


def test_a_validly_signed_webhook_is_read() -> None:
    body = payout_event_body()
    (found,) = webhooks.verify(body.encode(), signed(body), SECRET, KEYS)
    assert found.type is EventType.WITHDRAWAL_PAID and found.object_id == "po_1"
    lower = {k.lower(): v for k, v in signed(body).items()}
    assert webhooks.verify(body.encode(), lower, SECRET, KEYS)


@pytest.mark.parametrize(
    ("headers", "secret", "said"),
    [
        (lambda body: signed(body, "whsec_someone_else"), SECRET, "bad Stripe webhook signature"),
        (lambda body: signed(body, SECRET, int(time.time()) - 301), SECRET, "stale"),
        (lambda body: {}, SECRET, "missing Stripe-Signature"),
        (lambda body: {"Stripe-Signature": "garbage"}, SECRET, "bad Stripe webhook signature"),
        (lambda body: signed(body), None, "STRIPE_WEBHOOK_SECRET is not set"),
    ],
)
def test_forged_stale_unsigned_and_unconfigured_webhooks_are_refused(
    headers: Any, secret: str | None, said: str
) -> None:
    body = payout_event_body()
    with pytest.raises(webhooks.WebhookRejected, match=said) as refused:
        webhooks.verify(body.encode(), headers(body), secret, KEYS)
    assert isinstance(refused.value, PaybotError)


def test_a_tampered_body_is_refused_and_a_signed_non_event_is_malformed() -> None:
    body = payout_event_body()
    with pytest.raises(webhooks.WebhookRejected, match="bad Stripe webhook signature"):
        webhooks.verify(body.replace("100", "999").encode(), signed(body), SECRET, KEYS)
    with pytest.raises(webhooks.WebhookRejected, match="malformed"):
        webhooks.verify(b"not json", signed("not json"), SECRET, KEYS)


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("error", "retryable", "said"),
    [
        (stripe.RateLimitError("Too many requests", http_status=429), True, "rate limiting"),
        (stripe.APIConnectionError("timed out", should_retry=True), True, "same idempotency key"),
        (TimeoutError(), True, "did not answer in time"),
        (stripe.APIError("boom", http_status=500), True, "HTTP 500"),
        (stripe.APIError("busy", http_status=409), True, "HTTP 409"),
        (
            stripe.InvalidRequestError(
                "gone", param=None, code="charge_already_refunded", http_status=400
            ),
            False,
            "already been refunded",
        ),
        (
            stripe.InvalidRequestError(
                "bad", param="charge", code="parameter_invalid", http_status=400
            ),
            False,
            "refused the request",
        ),
        (
            stripe.CardError("Your card was declined.", None, "card_declined", http_status=402),
            False,
            "card declined",
        ),
        (stripe.AuthenticationError("bad key", http_status=401), False, "STRIPE_API_KEY"),
        (stripe.IdempotencyError("reused", http_status=400), False, "idempotency key"),
    ],
)
def test_stripe_errors_become_sentences_with_the_right_retry(
    error: BaseException, retryable: bool, said: str
) -> None:
    translated = translate(error, "Refund of ch_1")
    assert isinstance(translated, ProcessorError)
    assert translated.retryable is retryable
    assert said in translated.message and translated.message.startswith("Refund of ch_1")


# ---------------------------------------------------------------------------------------------
# Search and settings


def test_the_search_box_as_a_stripe_query() -> None:
    assert search_query("", KEYS) is None
    assert search_query("MAT-1", KEYS) == 'metadata["matter_id"]:"MAT-1"'
    assert search_query("125.50", KEYS) == 'metadata["matter_id"]:"125.50" OR amount:12550'
    assert search_query("4242", KEYS) == (
        'metadata["matter_id"]:"4242" OR amount:424200 OR payment_method_details.card.last4:"4242"'
    )
    assert search_query('a"b\\c', KEYS) == 'metadata["matter_id"]:"a\\"b\\\\c"'


def test_backend_stripe_without_a_key_stops_start_up_naming_it(
    session_factory: SessionFactory,
) -> None:
    settings = load_settings(payments_backend="stripe")
    with pytest.raises(ConfigError) as stopped:
        create_gateway(settings, session_factory, utcnow)
    assert "STRIPE_API_KEY" in stopped.value.message and "\n" not in stopped.value.message
    with pytest.raises(ConfigError, match="STRIPE_API_KEY is malformed"):
        load_settings(payments_backend="stripe", stripe_api_key="pk_live_publishable")
    with pytest.raises(ConfigError, match="STRIPE_API_BASE is malformed"):
        load_settings(stripe_api_base="api.stripe.com")
    configured = load_settings(
        payments_backend="stripe",
        stripe_api_key="rk_test_restricted",
        stripe_matter_key="clio_matter",
        stripe_api_base="http://127.0.0.1:9/",
    )
    gateway = create_gateway(configured, session_factory, utcnow)
    assert isinstance(gateway, StripeGateway) and gateway.name == "stripe"
