"""Stripe as the bot sees it: the Gateway protocol over the official SDK's async client.

One ``stripe.StripeClient`` on ``stripe.AIOHTTPClient`` (the bot's one HTTP stack), its ``_async``
methods only. What Stripe cannot do server-side is said where it matters (``paging``, ``search``,
``totals``) and refused with a clear message rather than done slowly or wrongly.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, tzinfo
from typing import Any

from stripe import RequestOptions
from stripe.params import (
    ChargeListParams,
    ChargeListParamsCreated,
    ChargeSearchParams,
    DisputeListParams,
    PayoutListParams,
    RefundCreateParams,
    RefundListParams,
)

from bot.clock import day_start
from bot.domain import (
    Balance,
    DailyTotals,
    Dispute,
    HistorySort,
    Page,
    PaymentKind,
    PaymentReturn,
    ProcessorEvent,
    Refund,
    Transaction,
    TransactionQuery,
    Withdrawal,
)
from bot.errors import ProcessorError
from bot.processors.stripe import mapping, webhooks
from bot.processors.stripe.disputes import StripeDisputes
from bot.processors.stripe.feed import StripeFeed
from bot.processors.stripe.mapping import IDEMPOTENCY_KEY, Obj, plain
from bot.processors.stripe.paging import STRIPE_MAX_LIMIT, scan
from bot.processors.stripe.search import WHOLE_ID, search_query
from bot.processors.stripe.totals import summarise

CHARGE_IDS = ("ch_", "py_")
INTENT_IDS = ("pi_",)
REFUND_IDS = ("re_", "pyr_")
MAX_TOTAL_PAGES = 50  # pages of 100 per kind of object summed by daily_totals
METADATA_VALUE_MAX = 500  # Stripe's limit per metadata value


class StripeGateway(StripeDisputes, StripeFeed):
    """The Gateway protocol against a Stripe account."""

    name = "stripe"

    # -----------------------------------------------------------------------------------------
    # Transactions

    async def get_transaction(self, transaction_id: str) -> Transaction | None:
        """``ch_``/``py_`` charges, ``pi_`` PaymentIntents and ``re_``/``pyr_`` refunds, each by
        exactly its id; any other id is not Stripe's and is not sent."""
        v1 = self._client.v1
        what = f"Lookup of {transaction_id}"
        if transaction_id.startswith(CHARGE_IDS):
            charge = await self._find(
                what,
                lambda: v1.charges.retrieve_async(
                    transaction_id, {"expand": ["refunds", "payment_intent"]}
                ),
            )
            if charge is None:
                return None
            return await self._complete(plain(charge), shown_id=transaction_id)
        if transaction_id.startswith(INTENT_IDS):
            intent = await self._find(
                what,
                lambda: v1.payment_intents.retrieve_async(
                    transaction_id, {"expand": ["latest_charge", "latest_charge.refunds"]}
                ),
            )
            if intent is None:
                return None
            raw = plain(intent)
            latest = plain(raw.get("latest_charge"))
            if latest:
                return await self._complete(latest, shown_id=transaction_id, intent=raw)
            method = await self._payment_method(raw.get("payment_method"))
            return mapping.transaction_of_intent(raw, self._keys, method)
        if transaction_id.startswith(REFUND_IDS):
            refund = await self._find(
                what, lambda: v1.refunds.retrieve_async(transaction_id, {"expand": ["charge"]})
            )
            if refund is None:
                return None
            refunded = plain(plain(refund).get("charge"))
            method = None
            if not plain(refunded.get("payment_method_details")).get("type"):
                method = await self._payment_method(refunded.get("payment_method"))
            return mapping.transaction_of_refund(refund, self._keys, method)
        return None

    async def _complete(
        self, charge: Obj, *, shown_id: str | None = None, intent: Obj | None = None
    ) -> Transaction:
        """A charge with its refunds, disputes and (when the charge lacks them) method details."""
        cid = str(charge["id"])
        embedded = mapping.charge_refunds(charge)
        if embedded is None:
            embedded = [plain(r) for r in await self._refunds_of(cid)]
        disputes: list[Dispute] = []
        if charge.get("disputed"):
            listed = await self._call(
                f"Disputes of {cid}",
                lambda: self._client.v1.disputes.list_async(
                    {"charge": cid, "limit": STRIPE_MAX_LIMIT, "expand": ["data.charge"]}
                ),
            )
            disputes = [mapping.dispute_of(d, self._keys) for d in plain(listed).get("data", [])]
        method = None
        needs_method = not plain(charge.get("payment_method_details")).get("type") or (
            charge.get("status") == "failed"
            and mapping.is_ach(charge)
            and mapping.ach_return_code(charge) is None
        )
        if needs_method:
            method = await self._payment_method(charge.get("payment_method"))
        return mapping.transaction_of(
            charge,
            self._keys,
            intent=intent,
            shown_id=shown_id,
            refunds=[mapping.refund_of(r) for r in embedded],
            disputes=disputes,
            payment_method=method,
        )

    async def _payment_method(self, value: object) -> Obj | None:
        if isinstance(value, str) and value:
            found = await self._find(
                f"Payment method of {value}",
                lambda: self._client.v1.payment_methods.retrieve_async(value),
            )
            return plain(found) if found is not None else None
        return plain(value) or None

    async def list_transactions(self, query: TransactionQuery) -> Page[Transaction]:
        """Newest first, as Stripe lists. Refunds are their own list (``kind=refund``); with no
        kind the history lists payments (charges), each with its refunds."""
        if HistorySort(query.sort) is not HistorySort.NEWEST:
            raise ProcessorError(
                "Stripe lists payments newest first only: sorting by amount or oldest first is "
                "not available with PAYMENTS_BACKEND=stripe."
            )
        kind = PaymentKind(query.kind) if query.kind is not None else None
        typed = (query.search or "").strip()
        if typed and WHOLE_ID.fullmatch(typed):
            found = await self.get_transaction(typed)
            matches = found is not None and (kind is None or found.kind is kind)
            return Page((found,) if found is not None and matches else ())
        if kind is PaymentKind.REFUND:
            if typed:
                raise ProcessorError(
                    "Stripe cannot search refunds: give the refund's whole id (re_…)."
                )
            return await self._list_refunds(query)
        if typed:
            return await self._search_charges(query, typed, kind)
        return await self._list_charges(query, kind)

    def _keep_kind(self, kind: PaymentKind | None) -> Callable[[Obj], bool] | None:
        if kind is None:
            return None
        return lambda charge: mapping.kind_of(charge) is kind

    async def _list_charges(
        self, query: TransactionQuery, kind: PaymentKind | None
    ) -> Page[Transaction]:
        def fetch(limit: int, after: str | None, before: str | None) -> Awaitable[Any]:
            params: ChargeListParams = {
                "limit": limit,
                "expand": ["data.payment_intent", "data.refunds"],
            }
            if after:
                params["starting_after"] = after
            if before:
                params["ending_before"] = before
            return self._call("History", lambda: self._client.v1.charges.list_async(params))

        listing = f"charges:{kind.value if kind else 'all'}"
        page = await scan(fetch, listing, query.limit, query.cursor, self._keep_kind(kind))
        items = await asyncio.gather(*(self._complete(charge) for charge in page.items))
        return Page(tuple(items), page.next_cursor, page.prev_cursor)

    async def _list_refunds(self, query: TransactionQuery) -> Page[Transaction]:
        def fetch(limit: int, after: str | None, before: str | None) -> Awaitable[Any]:
            params: RefundListParams = {"limit": limit, "expand": ["data.charge"]}
            if after:
                params["starting_after"] = after
            if before:
                params["ending_before"] = before
            return self._call("Refunds", lambda: self._client.v1.refunds.list_async(params))

        page = await scan(fetch, "refunds", query.limit, query.cursor)
        items = tuple(mapping.transaction_of_refund(r, self._keys) for r in page.items)
        return Page(items, page.next_cursor, page.prev_cursor)

    async def _search_charges(
        self, query: TransactionQuery, typed: str, kind: PaymentKind | None
    ) -> Page[Transaction]:
        """Stripe's Search API pages forward only (``next_page``): there is no previous link."""
        stripe_query = search_query(typed, self._keys, self._config.currency.upper())
        assert stripe_query is not None
        digest = hashlib.sha256(stripe_query.encode()).hexdigest()[:12]
        listing = f"search:{kind.value if kind else 'all'}:{digest}"
        page_token: str | None = None
        if query.cursor is not None:
            prefix = f"{listing}|page|"
            if not query.cursor.startswith(prefix):
                raise ProcessorError("That page link is no longer valid; start the list again.")
            page_token = query.cursor[len(prefix) :]
        params: ChargeSearchParams = {
            "query": stripe_query,
            "limit": max(1, min(query.limit, STRIPE_MAX_LIMIT)),
            "expand": ["data.payment_intent", "data.refunds"],
        }
        if page_token:
            params["page"] = page_token
        found = plain(
            await self._call(
                "Search",
                lambda: self._client.v1.charges.search_async(params),
            )
        )
        keep = self._keep_kind(kind) or (lambda _charge: True)
        charges = [plain(c) for c in found.get("data", []) if keep(plain(c))]
        items = await asyncio.gather(*(self._complete(charge) for charge in charges))
        token = found.get("next_page")
        next_cursor = f"{listing}|page|{token}" if found.get("has_more") and token else None
        return Page(tuple(items), next_cursor, None)

    # -----------------------------------------------------------------------------------------
    # Refunds

    async def refund(
        self, transaction_id: str, *, idempotency_key: str, metadata: Mapping[str, str]
    ) -> Refund:
        """A full refund (no amount is ever sent) with the caller's key and nothing else.

        Before creating, the charge's refunds are read for one carrying this key in its metadata:
        a retry after a timeout finds the refund the first attempt made, even where the API does
        not honour idempotency keys (localstripe). The SDK's own retries are off for the create,
        so every attempt goes through that check; a timeout is retryable and the refund service
        runs the job again with the same key.
        """
        if not idempotency_key:
            raise ProcessorError("A refund needs an idempotency key; nothing was sent to Stripe.")
        what = f"Refund of {transaction_id}"
        charge = await self._charge_for_refund(transaction_id, what)
        cid = str(charge["id"])
        for existing in await self._refunds_of(cid):
            if mapping.metadata(plain(existing)).get(IDEMPOTENCY_KEY) == idempotency_key:
                return mapping.refund_of(existing)
        refusal = mapping.charge_refusal(charge)
        if refusal:
            raise ProcessorError(refusal)
        tagged = {
            str(k)[:40]: str(v)[:METADATA_VALUE_MAX] for k, v in metadata.items() if str(v).strip()
        }
        tagged[IDEMPOTENCY_KEY] = idempotency_key
        params: RefundCreateParams = {"charge": cid, "metadata": tagged}
        options: RequestOptions = {"idempotency_key": idempotency_key, "max_network_retries": 0}
        created = await self._call(
            what, lambda: self._client.v1.refunds.create_async(params, options)
        )
        return mapping.refund_of(created)

    async def _charge_for_refund(self, transaction_id: str, what: str) -> Obj:
        v1 = self._client.v1
        if transaction_id.startswith(CHARGE_IDS):
            charge = await self._find(what, lambda: v1.charges.retrieve_async(transaction_id))
            if charge is not None:
                return plain(charge)
        elif transaction_id.startswith(INTENT_IDS):
            intent = await self._find(
                what,
                lambda: v1.payment_intents.retrieve_async(
                    transaction_id, {"expand": ["latest_charge"]}
                ),
            )
            latest = plain(plain(intent).get("latest_charge"))
            if latest:
                return latest
            if intent is not None:
                raise ProcessorError(f"{transaction_id} has no payment at Stripe to refund yet.")
        raise ProcessorError(f"There is no Stripe payment {transaction_id} to refund.")

    async def get_refund(self, refund_id: str) -> Refund | None:
        if not refund_id.startswith(REFUND_IDS):
            return None
        found = await self._find(
            f"Refund {refund_id}", lambda: self._client.v1.refunds.retrieve_async(refund_id)
        )
        return None if found is None else mapping.refund_of(found)

    # -----------------------------------------------------------------------------------------
    # Returns, withdrawals, balance, totals

    async def list_returns(
        self, *, limit: int = 10, cursor: str | None = None
    ) -> Page[PaymentReturn]:
        """ACH payments the bank sent back, found among the charges (Stripe keeps no list of
        returns): a page reads at most ``paging.MAX_SCAN_PAGES`` pages of 100 charges."""

        def fetch(size: int, after: str | None, before: str | None) -> Awaitable[Any]:
            params: ChargeListParams = {"limit": size, "expand": ["data.payment_intent"]}
            if after:
                params["starting_after"] = after
            if before:
                params["ending_before"] = before
            return self._call("Returns", lambda: self._client.v1.charges.list_async(params))

        def is_return(charge: Obj) -> bool:
            return mapping.ach_return_code(charge) is not None

        page = await scan(fetch, "returns", limit, cursor, is_return)
        items = tuple(
            found
            for charge in page.items
            if (found := mapping.return_of(charge, self._keys)) is not None
        )
        return Page(items, page.next_cursor, page.prev_cursor)

    async def list_withdrawals(
        self, *, limit: int = 10, cursor: str | None = None
    ) -> Page[Withdrawal]:
        """Payouts, newest first. Their payments are not listed (``transaction_ids`` is empty):
        that takes a balance-transaction read per payout; Stripe's payout reconciliation report
        has them."""

        def fetch(size: int, after: str | None, before: str | None) -> Awaitable[Any]:
            params: PayoutListParams = {"limit": size}
            if after:
                params["starting_after"] = after
            if before:
                params["ending_before"] = before
            return self._call("Withdrawals", lambda: self._client.v1.payouts.list_async(params))

        page = await scan(fetch, "payouts", limit, cursor)
        return Page(
            tuple(mapping.withdrawal_of(p) for p in page.items), page.next_cursor, page.prev_cursor
        )

    async def balance(self) -> Balance:
        """Stripe's balance in the account's currency; the next payout date is not part of it."""
        found = await self._call("Balance", lambda: self._client.v1.balance.retrieve_async())
        return mapping.balance_of(found, self._config.currency.lower())

    async def daily_totals(self, start: date, end: date, zone: tzinfo) -> list[DailyTotals]:
        """Summed here from the period's charges, refunds and disputes (Stripe's API has no
        per-day sums); refused past ``MAX_TOTAL_PAGES`` pages of one kind."""
        created: ChargeListParamsCreated = {
            "gte": int(day_start(start, zone).timestamp()),
            "lt": int(day_start(end, zone).timestamp()),
        }
        v1 = self._client.v1

        def charges(after: str | None) -> Awaitable[Any]:
            params: ChargeListParams = {"limit": STRIPE_MAX_LIMIT, "created": created}
            if after:
                params["starting_after"] = after
            return self._call("Totals", lambda: v1.charges.list_async(params))

        def refunds(after: str | None) -> Awaitable[Any]:
            params: RefundListParams = {"limit": STRIPE_MAX_LIMIT, "created": created}
            if after:
                params["starting_after"] = after
            return self._call("Totals", lambda: v1.refunds.list_async(params))

        def disputes(after: str | None) -> Awaitable[Any]:
            params: DisputeListParams = {"limit": STRIPE_MAX_LIMIT, "created": created}
            if after:
                params["starting_after"] = after
            return self._call("Totals", lambda: v1.disputes.list_async(params))

        found = await asyncio.gather(_all(charges), _all(refunds), _all(disputes))
        return summarise(*found, start, end, self._config.currency, zone)

    # -----------------------------------------------------------------------------------------
    # Webhooks

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> tuple[ProcessorEvent, ...]:
        return webhooks.verify(body, headers, self._config.webhook_secret, self._keys)

    async def receive_webhook(
        self, body: bytes, headers: Mapping[str, str], sender: str | None
    ) -> tuple[ProcessorEvent, ...]:
        return self.parse_webhook(body, headers)  # the signature alone decides

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]  # untyped in the SDK


async def _all(fetch: Callable[[str | None], Awaitable[Any]]) -> list[Obj]:
    found: list[Obj] = []
    after: str | None = None
    for _ in range(MAX_TOTAL_PAGES):
        listed = plain(await fetch(after))
        data = [plain(item) for item in listed.get("data", [])]
        found.extend(data)
        if not data or not listed.get("has_more"):
            return found
        after = str(data[-1]["id"])
    raise ProcessorError(
        f"More than {MAX_TOTAL_PAGES * STRIPE_MAX_LIMIT:,} objects of one kind in this period: "
        "Stripe's API has no per-day sums, so ask for a shorter period or use Stripe's reports."
    )
