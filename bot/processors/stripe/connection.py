"""The gateway's base: its configuration, the SDK client and calls with Stripe's errors mapped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import stripe

from bot.clock import Clock, utcnow
from bot.processors.stripe.errors import is_not_found, translate
from bot.processors.stripe.mapping import MetadataKeys, plain
from bot.processors.stripe.paging import STRIPE_MAX_LIMIT

log = logging.getLogger("paybot.stripe")
T = TypeVar("T")

CONCURRENCY = 8  # requests in flight when completing a page of charges


@dataclass(frozen=True)
class StripeConfig:
    api_key: str
    webhook_secret: str | None = None
    api_base: str = "https://api.stripe.com"
    keys: MetadataKeys = field(default_factory=MetadataKeys)
    currency: str = "usd"  # the one currency balances and daily totals are given in
    timeout: float = 30.0  # seconds for one request, body included
    read_retries: int = 2  # the SDK's own retries; never for a refund (see ``refund``)


def files_base(api_base: str) -> str:
    """Stripe takes uploads at files.stripe.com; a stand-in (a test's) takes them where it is."""
    return "https://files.stripe.com" if api_base == StripeConfig.api_base else api_base


class StripeConnection:
    """What every part of the gateway stands on: one SDK client, its calls and refund lists."""

    def __init__(self, config: StripeConfig, clock: Clock = utcnow) -> None:
        self._config = config
        self._keys = config.keys
        self._clock = clock
        self._http = stripe.AIOHTTPClient(timeout=aiohttp.ClientTimeout(total=config.timeout))
        self._client = stripe.StripeClient(
            config.api_key,
            base_addresses={"api": config.api_base, "files": files_base(config.api_base)},
            http_client=self._http,
            max_network_retries=config.read_retries,
        )
        self._limit = asyncio.Semaphore(CONCURRENCY)

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            async with self._limit:
                return await call()
        except (stripe.StripeError, TimeoutError, aiohttp.ClientError) as exc:
            raise translate(exc, what) from exc

    async def _find(self, what: str, call: Callable[[], Awaitable[T]]) -> T | None:
        """Like ``_call``, but an object Stripe does not have is None, not an error."""
        try:
            async with self._limit:
                return await call()
        except stripe.StripeError as exc:
            if is_not_found(exc):
                return None
            raise translate(exc, what) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise translate(exc, what) from exc

    async def _refunds_of(self, charge_id: str) -> list[Any]:
        listed = await self._call(
            f"Refunds of {charge_id}",
            lambda: self._client.v1.refunds.list_async(
                {"charge": charge_id, "limit": STRIPE_MAX_LIMIT}
            ),
        )
        data = plain(listed).get("data")
        return list(data) if isinstance(data, list) else []
