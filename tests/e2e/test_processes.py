"""Two `paybot serve` processes on one PostgreSQL database, and processes killed mid-work."""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.db.models import OutboxMessage, ProcessorEventRow, RefundRequest
from bot.domain import Account, MethodType, Money, PaymentKind, RefundState, Source, Transaction
from bot.processors.sandbox import SandboxSimulator
from bot.processors.sandbox.webhooks import encode
from bot.services.users import NewUser
from bot.store import Store, open_store
from bot.workspace.sender import SlackSender
from bot.workspace.slack_api import FakeSlack
from tests.conftest import (
    APPROVALS,
    BOT_TOKEN,
    NOTIFY,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    opened_modal,
)
from tests.processes import BotProcess, postgres_database


async def charge(
    sandbox: SandboxSimulator, amount: str, matter_id: str | None = "MAT-9"
) -> Transaction:
    return await sandbox.charge(
        amount=Money.parse(amount),
        method=MethodType.CARD,
        kind=PaymentKind.SALE,
        matter_id=matter_id,
        account=Account.OPERATING,
        brand="visa",
        last4="4242",
        customer_name="Dana Client",
    )


@dataclass
class Cluster:
    fake: FakeSlack
    store: Store
    sandbox: SandboxSimulator
    processes: list[BotProcess]
    senders: list[SlackSender]

    async def user(self, username: str, role: str) -> str:
        slack_id = f"U{username.upper()}"
        self.fake.add_user(slack_id, name=username, email=f"{username}@firm.com")
        await self.store.services.users.add(
            None,
            NewUser(username, username.title(), f"{username}@firm.com", role, slack_id),
            Source.CLI,
        )
        return slack_id

    def everything(self) -> str:
        parts = []
        for channel in (NOTIFY, APPROVALS):
            for message in self.fake.messages(channel):
                parts.append(message.text + json.dumps(message.blocks or []))
                parts.extend(
                    m.text + json.dumps(m.blocks or [])
                    for m in self.fake.messages(channel, thread_ts=message.ts)
                )
        return "\n".join(parts)


async def start_cluster(tmp_path: Path, database_url: str, count: int, **extra: str) -> Cluster:
    fake = FakeSlack(bot_token=BOT_TOKEN)
    api_url = await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    settings = Settings(
        database_url=database_url, paybot_notify_channel=NOTIFY, paybot_approvals_channel=APPROVALS
    )
    store = await open_store(settings)
    processes = [BotProcess(database_url, api_url, tmp_path, dict(extra)) for _ in range(count)]
    await asyncio.gather(*(p.start() for p in processes))
    senders = [SlackSender(p.url, SIGNING_SECRET, fake) for p in processes]
    return Cluster(fake, store, SandboxSimulator(store.sessions), processes, senders)


async def stop_cluster(cluster: Cluster) -> None:
    for process in cluster.processes:
        process.kill()
    for sender in cluster.senders:
        await sender.close()
    await cluster.store.close()
    await cluster.fake.stop()


@pytest.fixture
async def pg_cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    try:
        async with postgres_database() as url:
            cluster = await start_cluster(tmp_path, url, 2)
            try:
                yield cluster
            finally:
                await stop_cluster(cluster)
    except OSError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {exc}")


async def until(check, timeout: float = 30.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_twenty_approvals_over_two_processes_make_one_refund(pg_cluster: Cluster) -> None:
    staff = await pg_cluster.user("sam", "staff")
    managers = [await pg_cluster.user(f"boss{i}", "manager") for i in range(4)]
    txn = await charge(pg_cluster.sandbox, "180.00")
    first, second = pg_cluster.senders
    await first.command(staff, f"refund {txn.id}")
    modal = await opened_modal(pg_cluster.fake, staff, "modal")
    await first.submit(staff, modal, reason="Duplicate payment")
    parent = await pg_cluster.fake.wait_for(
        lambda: next(iter(pg_cluster.fake.messages(APPROVALS)), None),
        timeout=20,
        what="approval message",
    )
    clicks = [
        (first if i % 2 else second).block_action(managers[i % 4], "refund_approve", message=parent)
        for i in range(20)
    ]
    assert all(r.status == 200 for r in await asyncio.gather(*clicks))

    async def pending() -> bool:
        async with pg_cluster.store.sessions() as session:
            state = await session.scalar(
                select(RefundRequest.state).where(RefundRequest.transaction_id == txn.id)
            )
        return state == RefundState.PENDING.value

    await until(pending, what="refund pending")
    await asyncio.sleep(0.5)
    assert len((await pg_cluster.sandbox.show(txn.id))["refunds"]) == 1


async def test_a_change_to_a_user_in_one_process_is_obeyed_by_the_next_request_in_the_other(
    pg_cluster: Cluster,
) -> None:
    """Each process caches actors per Slack user; a change made anywhere (`/pay users` in one
    bot, `paybot users` in a process of its own) is announced at its commit (db/changes.py)."""
    admin = await pg_cluster.user("ada", "admin")
    staff = await pg_cluster.user("sam", "staff")
    txn = await charge(pg_cluster.sandbox, "75.00")
    first, second = pg_cluster.senders
    for sender in (first, second, first, second):  # both have read sam's access, and keep it
        assert f"Payment {txn.id}" in (await sender.command(staff, f"lookup {txn.id}")).text

    listing = await first.command(admin, "users")
    await first.block_action(admin, "users_toggle", value="sam", message=listing.json)
    await pg_cluster.fake.wait_for(
        lambda: any("sam is deactivated" in json.dumps(b) for _, b in pg_cluster.fake.responses),
        what="sam deactivated",
    )
    refused = await second.command(staff, f"lookup {txn.id}")
    assert "no Payments Portal access" in refused.text, refused.text

    await pg_cluster.store.services.users.set_active(None, "sam", True, Source.CLI)
    assert f"Payment {txn.id}" in (await second.command(staff, f"lookup {txn.id}")).text
    modal_opened = len(pg_cluster.fake.calls_to("views.open"))
    await pg_cluster.store.services.users.set_role(None, "sam", "viewer", Source.CLI)
    for sender in (second, first):
        refused = await sender.command(staff, f"refund {txn.id}")
        assert "Your role (viewer) cannot request refund" in refused.text, refused.text
    assert len(pg_cluster.fake.calls_to("views.open")) == modal_opened


async def test_an_event_seen_by_both_pollers_and_the_webhook_is_announced_once(
    pg_cluster: Cluster,
) -> None:
    txn = await charge(pg_cluster.sandbox, "64.00")
    dispute = await pg_cluster.sandbox.dispute(txn.id)
    feed = await pg_cluster.store.services.gateway.events(None, 100)
    body, headers = encode(feed.events, WEBHOOK_SECRET, pg_cluster.store.services.clock())
    async with aiohttp.ClientSession() as http:
        for process in pg_cluster.processes:
            async with http.post(
                f"{process.url}/webhooks/sandbox", data=body, headers=headers
            ) as answer:
                assert answer.status == 200

    async def announced() -> bool:
        return f"Chargeback {dispute.id}" in pg_cluster.everything()

    await until(announced, what="dispute announced")
    await asyncio.sleep(1.5)  # both pollers have run several times since
    assert pg_cluster.everything().count(f"Chargeback {dispute.id}") == 1


async def test_a_process_killed_mid_burst_loses_and_repeats_nothing(tmp_path: Path) -> None:
    try:
        database = postgres_database()
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    cluster = await start_cluster(tmp_path, url, 1, PAYBOT_NOTIFY_PACE="0.3")
    try:
        ids = []
        for i in range(50):
            txn = await charge(cluster.sandbox, f"{10 + i}.00")
            ids.append((await cluster.sandbox.dispute(txn.id)).id)
        victim = cluster.processes[0]

        async def first_chunk_posted() -> bool:
            """Some of the burst is out (as single posts or a digest): time to kill."""
            parents = cluster.fake.messages(NOTIFY)
            replies = sum(len(cluster.fake.messages(NOTIFY, thread_ts=m.ts)) for m in parents)
            return len(parents) + replies >= 3

        await until(first_chunk_posted, what="the burst under way")
        victim.kill()
        survivor = BotProcess(url, cluster.processes[0].slack_api_url, tmp_path)
        cluster.processes.append(survivor)
        await survivor.start()

        async def all_delivered() -> bool:
            shown = cluster.everything()
            return all(f"Chargeback {d}" in shown for d in ids)

        try:
            await until(all_delivered, timeout=60, what="every dispute delivered")
        except AssertionError:
            async with cluster.store.sessions() as session:
                rows = (await session.scalars(select(OutboxMessage))).all()
            states = sorted(
                {(r.state, r.attempts, r.lease_owner, str(r.last_error)[:200]) for r in rows}
            )
            shown = cluster.everything()
            missing = [d for d in ids if f"Chargeback {d}" not in shown]
            raise AssertionError(f"missing {len(missing)}: outbox {states}") from None
        await asyncio.sleep(1)
        shown = cluster.everything()
        repeated = [d for d in ids if shown.count(f"Chargeback {d}") != 1]
        assert repeated == [], f"posted more than once: {repeated}"
    finally:
        await stop_cluster(cluster)
        await database.__aexit__(None, None, None)


CRASH_RUNS = int(os.environ.get("PAYBOT_CRASH_RUNS", "50"))


async def test_crash_trials_never_lose_or_double_a_refund_or_lose_a_notification(
    tmp_path: Path, migrated_template: Path
) -> None:
    """50 times: SIGKILL the bot at a random moment while it executes a refund and delivers
    notifications, restart it, and check the outcome."""
    import shutil

    rng = random.Random(20261123)
    fake = FakeSlack(bot_token=BOT_TOKEN)
    api_url = await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    fake.add_user("USAM", name="sam", email="sam@firm.com")
    fake.add_user("UMEG", name="meg", email="meg@firm.com")
    doubled, lost_refunds, lost_notes = [], [], []
    failures_logs: list[tuple[int, str]] = []
    try:
        for run in range(CRASH_RUNS):
            db = tmp_path / f"crash-{run}.db"
            shutil.copyfile(migrated_template, db)
            url = f"sqlite+aiosqlite:///{db}"
            store = await open_store(
                Settings(
                    database_url=url,
                    paybot_notify_channel=NOTIFY,
                    paybot_approvals_channel=APPROVALS,
                )
            )
            sandbox = SandboxSimulator(store.sessions)
            users = store.services.users
            for name, role in (("sam", "staff"), ("meg", "manager")):
                await users.add(
                    None,
                    NewUser(name, name, f"{name}@firm.com", role, f"U{name.upper()}"),
                    Source.CLI,
                )
            sam, meg = (
                await store.services.access.actor("USAM"),
                await store.services.access.actor("UMEG"),
            )
            assert sam and meg
            txn = await charge(sandbox, "42.00")
            request = await store.services.refunds.request(
                sam, txn.id, f"crash trial {run}", Source.CLI
            )
            process = BotProcess(url, api_url, tmp_path, {"PAYBOT_LEASE_SECONDS": "1"})
            await process.start()
            await store.services.refunds.approve(meg, request.id, Source.CLI)
            disputes = []
            for _ in range(3):
                other = await charge(sandbox, "7.00")
                disputes.append((await sandbox.dispute(other.id)).id)
            await asyncio.sleep(rng.uniform(0, 0.6))
            process.kill()
            await process.start()

            async def settled(
                request_id: str = request.id, store: Store = store, disputes: list[str] = disputes
            ) -> bool:
                state = (await store.services.refunds.get(request_id)).state
                shown = "\n".join(m.text + json.dumps(m.blocks or []) for m in fake.all_messages())
                return state is RefundState.PENDING and all(
                    f"Chargeback {d}" in shown for d in disputes
                )

            try:
                await until(settled, timeout=20, what=f"run {run} to finish after the restart")
            except AssertionError:
                async with store.sessions() as session:
                    rows = (await session.scalars(select(OutboxMessage))).all()
                    events = (await session.scalars(select(ProcessorEventRow))).all()
                outbox_states = [(r.kind, r.state, r.attempts, r.last_error) for r in rows]
                seen = [(e.type, e.object_id) for e in events]
                failures_logs.append(
                    (run, f"outbox={outbox_states} events={seen} disputes={disputes}")
                )
                state = (await store.services.refunds.get(request.id)).state
                (lost_refunds if state is not RefundState.PENDING else lost_notes).append(run)
            refunds = len((await sandbox.show(txn.id))["refunds"])
            if refunds != 1:
                doubled.append((run, refunds))
            process.kill()
            await store.close()
    finally:
        await fake.stop()
    assert doubled == [] and lost_refunds == [] and lost_notes == [], (
        doubled,
        lost_refunds,
        lost_notes,
        failures_logs[:1],
    )
