"""Notifications under Slack's rate limits: `paybot serve` posting to a FakeSlack that allows one
message a second per channel and a few hundred a minute in the workspace (429 + Retry-After
beyond that), recording any call that comes back before its Retry-After ran out.

- burst: chargebacks and ACH returns made at the sandbox processor after the bot started; the time
  until every one is visible in the notify channel (its payment's id in a message or a thread
  reply: digests count) and the messages used;
- refund DMs: a refund on a matter with many members, approved in Slack; the time until every
  member has the "submitted" DM.

    .venv/bin/python bench/notifications.py [--events 1000] [--members 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import and_, exists, select
from support import (
    APPROVALS,
    NOTIFY,
    SIGNING_SECRET,
    WatchedSlack,
    copy_database,
    machine,
    paybot_server,
    run,
    seeded_database,
)

from bot.config import load_settings
from bot.domain import Account, MethodType, Money, PaymentKind, Source
from bot.ids import CallbackId
from bot.processors.sandbox import SandboxSimulator
from bot.processors.sandbox.models import SandboxDispute, SandboxTransaction
from bot.services.users import NewUser
from bot.store import open_store
from bot.workspace.sender import SlackSender
from bot.workspace.slack_api import FakeSlack, Message

TRANSACTIONS = 100_000
PER_CHANNEL_PER_SECOND = 1.0
PER_WORKSPACE_PER_MINUTE = 300
TRANSACTION_ID = re.compile(r"txn_[a-z0-9]+")


def shown(message: Message) -> str:
    """What a person sees of a message: its blocks, or its text when it has none."""
    return json.dumps(message.blocks) if message.blocks else message.text


def rate_report(fake: FakeSlack, channel_prefix: str | None = None) -> dict[str, float]:
    posts = [
        c
        for c in fake.calls_to("chat.postMessage")
        if channel_prefix is None or str(c.params.get("channel", "")).startswith(channel_prefix)
    ]
    return {
        "posts_ok": sum(1 for c in posts if c.error is None),
        "posts_429": sum(1 for c in posts if c.error == "ratelimited"),
        "early": len(fake.early_calls),
        "updates": len(fake.calls_to("chat.update")),
        "opens": len(fake.calls_to("conversations.open")),
    }


async def watch(
    fake: FakeSlack,
    seen: Callable[[Message], None],
    done: Callable[[], bool],
    within: float,
) -> bool:
    """Read each new message once (``seen``) until ``done()``; False after ``within`` s."""
    deadline, read = time.monotonic() + within, 0
    while True:
        messages = fake.all_messages()
        for message in messages[read:]:
            seen(message)
        read = len(messages)
        if done():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)


async def burst(events: int) -> dict[str, float]:
    """Disputes and returns made at the processor after the bot started, visible in Slack."""
    fake = WatchedSlack()
    await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    fake.rate_limit(PER_CHANNEL_PER_SECOND, PER_WORKSPACE_PER_MINUTE)
    T = SandboxTransaction
    with tempfile.TemporaryDirectory(prefix="paybot-bench-") as name:
        folder = Path(name)
        url = copy_database(await seeded_database(TRANSACTIONS), folder)
        store = await open_store(load_settings(database_url=url))
        bot = paybot_server(url, fake.base_url, folder)
        try:
            eligible = and_(
                T.status == "succeeded",
                T.kind == PaymentKind.SALE.value,
                T.refund_id.is_(None),
                ~exists().where(SandboxDispute.transaction_id == T.id),
            )
            disputes, returns = events * 7 // 10, events - events * 7 // 10
            async with store.sessions() as session:
                cards = list(
                    await session.scalars(
                        select(T.id).where(eligible, T.method == "card").limit(disputes)
                    )
                )
                banks = list(
                    await session.scalars(
                        select(T.id).where(eligible, T.method == "ach").limit(returns)
                    )
                )
            wanted = set(cards) | set(banks)
            await bot.start()
            await asyncio.sleep(1.5)  # the bot settled: its poller is at the end of the feed
            simulator = SandboxSimulator(store.sessions)
            started = time.monotonic()
            for number, (card, bank) in enumerate(
                zip(cards, banks + [""] * len(cards), strict=False)
            ):
                await simulator.dispute(card)
                if bank:
                    await simulator.return_payment(bank, "R01" if number % 2 else "R03")
            made = time.monotonic() - started
            visible: set[str] = set()

            def seen(message: Message) -> None:
                if message.channel == NOTIFY:
                    visible.update(wanted.intersection(TRANSACTION_ID.findall(shown(message))))

            complete = await watch(fake, seen, lambda: visible >= wanted, within=240)
            elapsed = time.monotonic() - started
        finally:
            bot.stop()
            await store.close()
            await fake.stop()
    figures = rate_report(fake, "C")
    figures.update(
        events=len(wanted), visible=len(visible), made_s=made, visible_s=elapsed, complete=complete
    )
    print(
        f"  burst: {len(cards)} chargebacks and {len(banks)} ACH returns made at the processor "
        f"in {made:.1f} s; {len(visible):,} of {len(wanted):,} visible in the notify channel "
        f"{elapsed:.1f} s after the first (target 60 s), {elapsed - made:.1f} s after the last"
    )
    print(
        f"    {figures['posts_ok']:.0f} messages posted (parents and thread replies), "
        f"{figures['updates']:.0f} updated; {figures['posts_429']:.0f} answered 429, "
        f"{figures['early']:.0f} calls before their Retry-After"
    )
    return figures


async def direct_messages(members: int) -> dict[str, float]:
    """A refund on a matter of ``members`` people, approved in Slack: each is told by DM."""
    fake = WatchedSlack()
    await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    fake.rate_limit(PER_CHANNEL_PER_SECOND, PER_WORKSPACE_PER_MINUTE)
    people = [f"U1M{number:05d}" for number in range(members)]
    with tempfile.TemporaryDirectory(prefix="paybot-bench-") as name:
        folder = Path(name)
        url = copy_database(await seeded_database(TRANSACTIONS), folder)
        store = await open_store(load_settings(database_url=url))
        bot = paybot_server(url, fake.base_url, folder)
        sender = SlackSender(bot.url, SIGNING_SECRET, fake)
        try:
            for slack_id, username, role in (
                ("U0SAM", "sam", "staff"),
                ("U0MIA", "mia", "manager"),
            ):
                fake.add_user(slack_id, username, username.title(), f"{username}@firm.com")
                await store.services.users.add(
                    None,
                    NewUser(username, username.title(), f"{username}@firm.com", role, slack_id),
                    Source.CLI,
                )
            emails = []
            for number, slack_id in enumerate(people):
                email = f"member{number:05d}@firm.com"
                fake.add_user(slack_id, f"member{number}", f"Member {number}", email)
                emails.append(email)
            await store.services.matters.put("MAT-BENCH", "Bench v Many", emails)
            payment = await SandboxSimulator(store.sessions).charge(
                amount=Money.parse("480.00"),
                method=MethodType.CARD,
                kind=PaymentKind.SALE,
                matter_id="MAT-BENCH",
                account=Account.OPERATING,
                brand="visa",
                last4="4242",
                customer_name="Dana Client",
            )
            await bot.start()
            await sender.command("U0SAM", f"refund {payment.id}")
            modal = await fake.wait_for(  # opened loading, then filled: the filled one
                lambda: (
                    (m := fake.top_modal("U0SAM"))
                    and m.get("callback_id") == CallbackId.REFUND_REQUEST
                    and m
                ),
                10,
                what="refund modal",
            )
            await sender.submit("U0SAM", modal, reason="Paid twice")
            request = await fake.wait_for(
                lambda: next(iter(fake.messages(APPROVALS)), None), 10, what="approval message"
            )
            started = time.monotonic()
            await sender.block_action("U0MIA", "refund_approve", message=request)
            told: set[str] = set()
            wanted = set(people)

            def seen(message: Message) -> None:
                channel = fake.channels.get(message.channel)
                if channel is not None and channel.user in wanted and "Refund of" in message.text:
                    told.add(channel.user)

            complete = await watch(fake, seen, lambda: told >= wanted, within=360)
            elapsed = time.monotonic() - started
        finally:
            await sender.close()
            bot.stop()
            await store.close()
            await fake.stop()
    figures = rate_report(fake, None)
    figures.update(members=members, told=len(told), told_s=elapsed, complete=complete)
    print(
        f"  refund DMs: {len(told):,} of {members:,} matter members told by DM {elapsed:.1f} s "
        "after the approval click (target 240 s)"
    )
    print(
        f"    {figures['posts_ok']:.0f} messages posted in all, {figures['posts_429']:.0f} "
        f"answered 429, {figures['early']:.0f} calls before their Retry-After; "
        f"{figures['opens']:.0f} conversations.open"
    )
    return figures


async def main(events: int, members: int, only: str | None = None) -> dict[str, dict[str, float]]:
    print(
        f"Notifications: {machine()}; FakeSlack allows {PER_CHANNEL_PER_SECOND:g} message a "
        f"second a channel, {PER_WORKSPACE_PER_MINUTE} a minute in the workspace"
    )
    figures = {}
    if only in (None, "burst"):
        figures["burst"] = await burst(events)
    if only in (None, "dms"):
        figures["dms"] = await direct_messages(members)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--only", choices=["burst", "dms"])
    arguments = parser.parse_args()
    run(main(arguments.events, arguments.members, arguments.only))
