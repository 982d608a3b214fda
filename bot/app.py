"""Composition root: settings -> store (engine, processor, services) -> Slack client -> Bolt app.

Everything slow happens here once per process (auth.test, the HTTP session, the database pool),
so no user's request pays for it. Built by factories, never at import time, so tests can run as
many independent bots as they like.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot import handlers
from bot.clock import Clock, utcnow
from bot.config import Settings
from bot.db.changes import Listener
from bot.db.engine import checkpoint, engine_of, wakeup
from bot.handlers.installation import Installation
from bot.handlers.runner import AnsweringRunner
from bot.metrics import Metrics
from bot.services.container import Services
from bot.slack.directory import SlackDirectory
from bot.slack.identity import identify
from bot.slack.members import SlackMembers
from bot.store import Store, open_store
from bot.workers.jobs import job_handlers
from bot.workers.notifications import Delivery
from bot.workers.runner import Periodic, Worker

log = logging.getLogger("paybot")


class _ClientCarriesToken(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when it is given a client, and then
    warns that the token "will be unused". The client carries that very token, so the warning
    only tells the person who just set it that their setting was ignored, which is not so."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_CLIENT_CARRIES_TOKEN = _ClientCarriesToken()
# Seconds a closing bot waits for listeners still at work after their ack (a refund being
# posted, a modal being filled) before it closes the database under them.
LISTENERS_FINISH_SECONDS = 5.0
# What `serve` cannot start without (`paybot check` names the same); `socket` needs no
# signing secret (nothing arrives over HTTP) but the app token instead.
BOT_SETTINGS = (
    "slack_bot_token",
    "slack_signing_secret",
    "paybot_approvals_channel",
    "paybot_notify_channel",
)


def bot_settings(*, socket_mode: bool = False) -> tuple[str, ...]:
    if socket_mode:
        return ("slack_app_token", *(n for n in BOT_SETTINGS if n != "slack_signing_secret"))
    return BOT_SETTINGS


@dataclass
class Bot:
    settings: Settings
    store: Store
    bolt: AsyncApp
    client: AsyncWebClient
    http: aiohttp.ClientSession
    worker: Worker
    changes: Listener

    @property
    def services(self) -> Services:
        return self.store.services

    async def close(self) -> None:
        runner = self.bolt.listener_runner
        if isinstance(runner, AnsweringRunner):  # work a listener does after its ack
            await runner.finish(LISTENERS_FINISH_SECONDS)
        await self.changes.stop()
        await self.worker.stop()
        await self.http.close()
        await self.store.close()


def slack_client(
    settings: Settings, http: aiohttp.ClientSession, *, with_token: bool = True
) -> AsyncWebClient:
    """One client for the process, on one shared HTTP session, retrying what Slack asks us to.
    Bolt's own is made without the token: its `authorize` gives each request the token, and a
    client holding one as well makes Bolt warn that SLACK_BOT_TOKEN will be ignored."""
    return AsyncWebClient(
        token=settings.secret("slack_bot_token") if with_token else None,
        base_url=settings.slack_api_url,
        session=http,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


async def create_bot(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    store: Store | None = None,
    socket_mode: bool = False,
) -> Bot:
    """The whole bot. Under `socket_mode` no request arrives over HTTP, so Slack's signing
    secret is neither needed nor checked (Bolt verifies nothing on Socket Mode requests)."""
    settings.require(*bot_settings(socket_mode=socket_mode))
    http = aiohttp.ClientSession()
    opened = store
    try:
        client = slack_client(settings, http)
        identity = await identify(client)  # first: a wrong token or URL is said before migrating
        opened = store = store or await open_store(settings, clock=clock)
        await store.services.events.start_at_end()
        authorized = AuthorizeResult.from_auth_test_response(
            auth_test_response=identity.answer,
            bot_token=settings.secret("slack_bot_token"),
            user_token=None,
        )

        async def authorize() -> AuthorizeResult:
            return authorized

        logging.getLogger("slack_bolt.AsyncApp").addFilter(_CLIENT_CARRIES_TOKEN)
        bolt = AsyncApp(
            client=slack_client(settings, http, with_token=False),
            signing_secret="" if socket_mode else settings.secret("slack_signing_secret"),
            request_verification_enabled=not socket_mode,
            authorize=authorize,
            process_before_response=False,
            raise_error_for_unhandled_request=True,  # answered 200 by the error handler
        )
        store.services.users.slack_members = SlackMembers(client).problem
        handlers.register(bolt, store.services, Installation.from_auth_test(identity.answer))
        worker = create_worker(settings, store.services, client, store.metrics)
        wakeup(store.sessions).connect(worker.kick)  # work recorded wakes it (db/engine.py)
        # PostgreSQL: portal-user changes of any process drop this one's cached actors.
        changes = Listener(store.engine, store.services.access.freshness)
        changes.start()
    except BaseException:
        await http.close()
        if opened is not None:
            await opened.close()
        raise
    return Bot(settings, store, bolt, client, http, worker, changes)


def create_worker(
    settings: Settings, services: Services, client: AsyncWebClient, metrics: Metrics
) -> Worker:
    directory = SlackDirectory(client, services.sessions, services.clock)
    delivery = Delivery(
        services, client, directory, services.clock, pace=settings.paybot_notify_pace
    )

    async def checkpoint_wal() -> None:
        await checkpoint(services.sessions)

    # SQLite only: its WAL is copied into the database file here, not in a commit (see checkpoint).
    on_sqlite = engine_of(services.sessions).dialect.name == "sqlite"
    periodic: list[Periodic] = [
        services.events.poll,
        services.disputes.remind,
        services.refunds.sweep,  # approvals: reminded of once, expired (bot/policy.py)
        services.disputes.sweep,
        services.disputes.acceptances.sweep,
        delivery.deliver,
        services.refunds.check_pending,
        services.digests.post_due,
        services.checklists.remind,
        services.deliveries.forget_old,
        *([checkpoint_wal] if on_sqlite else []),
    ]
    # Every round: the feed, deliveries and the WAL; the rest is what time alone makes due,
    # swept every PAYBOT_SWEEP_INTERVAL.
    every_round = [services.events.poll, delivery.deliver, checkpoint_wal]
    return Worker(
        services.jobs,
        job_handlers(services),
        periodic=periodic,
        sweeps=[check for check in periodic if check not in every_round],
        sweep_interval=settings.paybot_sweep_interval,
        on_stop=[delivery.stop],
        on_failure=lambda kind: metrics.job_failures.labels(kind).inc(),
        interval=settings.paybot_worker_interval,
    )
