"""`paybot demo`: the real bot on the sandbox processor, with seeded data, behind a local
Slack-like workspace in the browser. One process, one port, no tokens, no network.

    http://127.0.0.1:PORT/               the workspace page (bot/workspace/static)
    http://127.0.0.1:PORT/api/METHOD     the workspace's Slack Web API: the bot's SLACK_API_URL
    http://127.0.0.1:PORT/slack/events   the bot, served by bot/web.py exactly as in production
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import sys
import webbrowser
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from aiohttp import web
from sqlalchemy import select

from bot.app import Bot, create_bot
from bot.config import Settings, load_settings
from bot.demo_documents import respond_with_letter
from bot.demo_trust import trust_story
from bot.domain import (
    Account,
    MethodType,
    Money,
    PaymentKind,
    RefundRequestInfo,
    Source,
    Transaction,
    TransactionStatus,
)
from bot.errors import PaybotError
from bot.processors.factory import sandbox_fees
from bot.processors.sandbox import SandboxSimulator
from bot.processors.sandbox.models import SandboxDispute, SandboxTransaction
from bot.processors.sandbox.seeding import SEED_MATTERS
from bot.processors.sandbox.simulator import SettleResult
from bot.roles import Role
from bot.server import cannot_listen, check_port
from bot.services.users import NewUser
from bot.store import Store, open_store
from bot.web import create_web_app
from bot.workspace.browser import BrowserWorkspace, Person, ProcessorNews
from bot.workspace.sender import SlackSender
from bot.workspace.slack_api import FakeSlack

DEMO_DIR = Path("demo-data")
DATABASE = "paybot-demo.db"
GENERAL, NOTIFY, APPROVALS = "C0GENERAL", "C0PAYMENTS", "C0APPROVALS"
DEMO_MATTERS = SEED_MATTERS[:6]
WORKSPACE_ROUTES = ("/workspace/", "/api/", "/static", "/upload/", "/response/")
ACCESS_LOG = "paybot.access"
R = TypeVar("R")


@dataclass(frozen=True)
class DemoUser:
    slack_id: str
    username: str
    full_name: str
    role: Role | None  # None: in the Slack workspace, but with no portal account

    @property
    def email(self) -> str:
        return f"{self.username}@firm.example"


PEOPLE = (
    DemoUser("U0SAM", "sam", "Sam Staff", Role.STAFF),
    DemoUser("U0MIA", "mia", "Mia Manager", Role.MANAGER),
    DemoUser("U0ADA", "ada", "Ada Admin", Role.ADMIN),
    DemoUser("U0VIC", "vic", "Vic Viewer", Role.VIEWER),
    DemoUser("U0GUS", "gus", "Gus Guest", None),
)


@dataclass(frozen=True)
class DemoData:
    """The named records a visitor is pointed at, besides the seeded crowd."""

    card: Transaction  # refundable, on a matter with members
    trust: Transaction
    held: Transaction  # an uncaptured authorization: shown, never refundable
    ach: Transaction  # settled ACH, left for the page's "ACH return" button
    requested: RefundRequestInfo  # waiting in the approvals channel
    trust_refunded: Transaction  # its bookkeeping checklist in the approvals thread
    trust_charged_back: Transaction  # a trust debit, its cover checklist in the thread


@dataclass
class Demo:
    url: str
    bot: Bot
    fake: FakeSlack
    sender: SlackSender
    workspace: BrowserWorkspace
    data: DemoData
    database: Path
    runner: web.AppRunner

    async def close(self) -> None:
        await self.bot.worker.stop()  # first: its Slack calls go to this very server
        await self.runner.cleanup()  # then the server, and the bot closes (bot/web.py)
        await self.sender.close()


class SandboxControls:
    """The page's processor buttons: the sandbox acting on its own, then the bot's worker
    nudged so it notices at once rather than on its next round."""

    def __init__(self, store: Store, wake: Callable[[], None]) -> None:
        self._store = store
        fees = sandbox_fees(store.services.settings)
        self._simulator = SandboxSimulator(store.sessions, store.services.clock, fees=fees)
        self._wake = wake
        self._payments = 0

    async def new_payment(self, amount: str, method: str) -> ProcessorNews:
        try:
            money = Money.parse(amount or "125.00")
            kind = MethodType(method)
        except ValueError as e:
            return ProcessorNews(False, str(e))
        matter = DEMO_MATTERS[self._payments % len(DEMO_MATTERS)]
        self._payments += 1
        return await self._act(
            lambda: self._charge(matter.id, matter.payers[0], money, kind),
            lambda txn: (f"New {kind.value} payment of {txn.amount} on {matter.id}", txn.id),
        )

    async def chargeback(self, transaction_id: str) -> ProcessorNews:
        target = transaction_id or await self._newest(MethodType.CARD)
        if target is None:
            return ProcessorNews(False, "No settled card payment is left to dispute.")
        return await self._act(
            lambda: self._simulator.dispute(target, reason="not_received"),
            lambda d: (
                f"Chargeback {d.id} on {target}: {d.reason}; respond by {d.respond_by:%Y-%m-%d}",
                target,
            ),
        )

    async def ach_return(self, transaction_id: str, code: str) -> ProcessorNews:
        target = transaction_id or await self._newest(MethodType.ACH)
        if target is None:
            return ProcessorNews(False, "No settled ACH payment is left to return.")
        return await self._act(
            lambda: self._simulator.return_payment(target, code),
            lambda r: (f"The bank returned {target} with {r.code}", target),
        )

    async def settle(self) -> ProcessorNews:
        def told(result: SettleResult) -> tuple[str, None]:
            made = [f"{w.account} withdrawal {w.id} of {w.amount} made" for w in result.withdrawals]
            paid = "; ".join(made) or "nothing new to pay out"
            return f"Settled: {len(result.refunds)} pending refund(s) settled; {paid}", None

        return await self._act(self._simulator.settle, told)

    async def _act(
        self, work: Callable[[], Awaitable[R]], say: Callable[[R], tuple[str, str | None]]
    ) -> ProcessorNews:
        try:
            result = await work()
        except PaybotError as e:
            return ProcessorNews(False, e.message)
        self._wake()
        text, transaction_id = say(result)
        return ProcessorNews(True, text, transaction_id)

    async def _charge(
        self, matter_id: str, payer: str, amount: Money, method: MethodType
    ) -> Transaction:
        return await self._simulator.charge(
            amount=amount,
            method=method,
            kind=PaymentKind.SALE,
            matter_id=matter_id,
            account=Account.OPERATING,
            brand="visa" if method is MethodType.CARD else None,
            last4="4242" if method is MethodType.CARD else "6789",
            customer_name=payer,
        )

    async def _newest(self, method: MethodType) -> str | None:
        """The newest settled payment of this method with no refund and no dispute."""
        T = SandboxTransaction
        query = (
            select(T.id)
            .where(
                T.method == method.value,
                T.kind == PaymentKind.SALE.value,
                T.status == TransactionStatus.SUCCEEDED.value,
                T.refund_id.is_(None),
                T.id.not_in(select(SandboxDispute.transaction_id)),
            )
            .order_by(T.created_at.desc(), T.id.desc())
            .limit(1)
        )
        async with self._store.sessions() as session:
            return await session.scalar(query)


def fresh_database(directory: Path) -> Path:
    """A new SQLite file each run, so every demo starts from the same story."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DATABASE
    for suffix in ("", "-wal", "-shm", "-journal", ".migrate.lock"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return path


def demo_settings(root: str, database: Path) -> Settings:
    """Settings made here, not read from the environment: a token and a signing secret
    invented for this run, and the workspace's own Web API as Slack."""
    return load_settings(
        _env_file=None,
        slack_bot_token=f"xoxb-demo-{secrets.token_hex(12)}",
        slack_signing_secret=secrets.token_hex(32),
        slack_app_token=None,
        slack_api_url=f"{root}/api/",
        database_url=f"sqlite+aiosqlite:///{database.resolve()}",
        payments_backend="sandbox",
        paybot_notify_channel=NOTIFY,
        paybot_approvals_channel=APPROVALS,
        paybot_worker_interval=0.5,
        paybot_sweep_interval=1.0,  # a reminder or an expiry shows within a second of its time
    )


def demo_workspace(settings: Settings, root: str) -> FakeSlack:
    fake = FakeSlack(
        settings.secret("slack_bot_token"), team_name="Paybot Demo", team_domain="paybot-demo"
    )
    fake.root_url = root
    fake.add_channel(NOTIFY, "payments")
    fake.add_channel(APPROVALS, "payments-approvals")
    for person in PEOPLE:
        fake.add_user(person.slack_id, person.username, person.full_name, person.email)
        fake.dm(person.slack_id)
    return fake


async def seed_demo(store: Store, transactions: int) -> DemoData:
    """Portal users of every role, matters with members, the seeded crowd of payments
    (refunds, disputes near their deadline, returns, withdrawals) and a few named ones."""
    services = store.services
    simulator = SandboxSimulator(
        store.sessions, services.clock, fees=sandbox_fees(services.settings)
    )
    await simulator.seed(transactions)
    for person in PEOPLE:
        if person.role is not None:
            await services.users.add(
                None,
                NewUser(
                    person.username, person.full_name, person.email, person.role, person.slack_id
                ),
                Source.CLI,
            )
    members = [p.email for p in PEOPLE if p.role in (Role.STAFF, Role.MANAGER)]
    for matter in DEMO_MATTERS:
        await services.matters.put(matter.id, matter.name, members)

    first, second, third = DEMO_MATTERS[:3]

    async def pay(
        amount: str,
        matter_id: str,
        payer: str,
        *,
        method: MethodType = MethodType.CARD,
        account: Account = Account.OPERATING,
        on: SandboxSimulator = simulator,
        description: str | None = None,
        captured: bool = True,
    ) -> Transaction:
        card = method is MethodType.CARD
        return await on.charge(
            amount=Money.parse(amount),
            method=method,
            kind=PaymentKind.SALE if captured else PaymentKind.AUTHORIZATION,
            captured=captured,
            matter_id=matter_id,
            account=account,
            brand="visa" if card else None,
            last4="4242" if card else "6789",
            customer_name=payer,
            description=description,
        )

    card = await pay("1250.00", first.id, first.payers[0], description="Invoice INV-2040")
    trust = await pay(
        "5000.00",
        second.id,
        second.payers[0],
        account=Account.TRUST,
        description=f"Retainer deposit for {second.id}",
    )
    held = await pay("300.00", second.id, second.payers[-1], captured=False)
    doubled = await pay("480.00", third.id, third.payers[0], description="Invoice INV-2041")
    staff = await services.access.actor(PEOPLE[0].slack_id)
    assert staff is not None
    requested = await services.refunds.request(
        staff,
        doubled.id,
        "The client paid invoice INV-2041 twice; this is the second payment.",
        Source.COMMAND,
    )
    # A dispute opened eight and a half days ago: a day and a half left to respond.
    now = services.clock()
    earlier = SandboxSimulator(store.sessions, lambda: now - timedelta(days=8, hours=12))
    late = await pay("2100.00", first.id, first.payers[0], on=earlier)
    await earlier.dispute(late.id, reason="not_received")
    returned = await pay("900.00", second.id, second.payers[0], method=MethodType.ACH, on=earlier)
    await simulator.return_payment(returned.id, "R01")
    ach = await pay("750.00", third.id, third.payers[0], method=MethodType.ACH, on=earlier)
    await simulator.settle()
    refunded, charged_back = await trust_story(store, simulator, pay, "U0SAM", "U0MIA", second)
    return DemoData(card, trust, held, ach, requested, refunded, charged_back)


def tips(data: DemoData) -> list[str]:
    return [
        "/pay help",
        f"/pay lookup {data.card.id}",
        f"/pay refund {data.card.id}",
        f"/pay lookup {data.trust.id}",
        f"/pay lookup {data.held.id}",
        "/pay me",
        "/pay history",
        "/pay disputes",
        "/pay returns",
        "/pay withdrawals",
        "/pay report 30d",
        "/pay audit",
        "/pay users",
    ]


def listen(host: str, port: int) -> socket.socket:
    check_port(port)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except OSError as e:
        raise cannot_listen(host, port, e) from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise cannot_listen(host, port, e) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def bot_behind(
    listener: socket.socket, fake: FakeSlack, settings: Settings, store: Store
) -> Bot:
    """create_bot asks Slack who it is (auth.test) before the bot's routes can exist, so the
    workspace's Web API answers alone on the listening socket until then. It serves a
    duplicate of the socket: closing that leaves `listener` open, and a connection arriving
    in between waits in its backlog."""
    app = fake.make_app()
    app.router.add_route("*", "/{path:.*}", _starting)
    api_only = web.AppRunner(app, access_log=None)
    await api_only.setup()
    await web.SockSite(api_only, listener.dup()).start()
    try:
        return await create_bot(settings, store=store)
    finally:
        await api_only.cleanup()


async def _starting(request: web.Request) -> web.Response:
    return web.Response(status=503, text="The Paybot demo is starting: reload in a moment.")


async def start_demo(
    *,
    port: int = 3000,
    host: str = "127.0.0.1",
    directory: Path = DEMO_DIR,
    transactions: int = 600,
) -> Demo:
    """Serve the demo; port 0 takes a free one (tests)."""
    listener = listen(host, port)  # first: a second demo on the same port leaves the data be
    root = f"http://{_reachable(host)}:{listener.getsockname()[1]}"
    try:
        database = fresh_database(directory)
        settings = demo_settings(root, database)
        fake = demo_workspace(settings, root)
        store = await open_store(settings)
        try:
            data = await seed_demo(store, transactions)
        except BaseException:
            await store.close()
            raise
        bot = await bot_behind(listener, fake, settings, store)
        await respond_with_letter(store, PEOPLE[0].slack_id)  # news now: it is announced
    except BaseException:
        listener.close()
        raise
    sender = SlackSender(
        root, settings.secret("slack_signing_secret"), fake, team_id=fake.team_id, window=None
    )
    workspace = BrowserWorkspace(
        fake,
        sender,
        people=[
            Person(p.slack_id, p.role.value if p.role else "no portal account") for p in PEOPLE
        ],
        channels=[GENERAL, NOTIFY, APPROVALS],
        purposes={
            GENERAL: "Anything. The bot is not in this channel's conversation, only in commands.",
            NOTIFY: "Chargebacks and returns are announced here (PAYBOT_NOTIFY_CHANNEL).",
            APPROVALS: "Refund requests wait here for a manager (PAYBOT_APPROVALS_CHANNEL).",
        },
        tips=tips(data),
        processor=SandboxControls(store, bot.worker.kick),
    )
    app = create_web_app(bot)
    app.add_routes(fake.routes())
    app.add_routes(workspace.routes())
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    await web.SockSite(runner, listener).start()
    return Demo(f"{root}/", bot, fake, sender, workspace, data, database, runner)


class WorkspacePlumbing(logging.Filter):
    """The page polls /workspace/state every second and the bot's Slack calls go to /api/:
    logged, they would scroll the banner away. What reaches the bot (/slack/events) stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        route = str(getattr(record, "route", ""))
        return route != "/" and not route.startswith(WORKSPACE_ROUTES)


def quiet_workspace() -> None:
    """Only what a person trying the demo needs on the terminal: its database is new on every
    run, so the migrations are not news either."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger(ACCESS_LOG).addFilter(WorkspacePlumbing())


def _reachable(host: str) -> str:
    """The address the bot calls the workspace at: a wildcard listens everywhere, so loopback."""
    if host in ("", "0.0.0.0"):  # noqa: S104
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def can_open_browser() -> bool:
    """Not on a Linux box without a display: webbrowser would fall back to a text browser
    that takes over the terminal."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


async def run_demo(*, port: int, open_browser: bool, host: str = "127.0.0.1") -> None:
    quiet_workspace()
    demo = await start_demo(port=port, host=host)
    print(
        "\nPaybot demo: the real bot on the sandbox processor, in a local Slack-like workspace.\n"
        f"  Open  {demo.url}   (act as any demo user; Ctrl-C stops)\n"
        f"  Data  {demo.database} (made afresh each run)\n"
        f"  Try   /pay help, /pay lookup {demo.data.card.id}, /pay refund {demo.data.card.id}\n"
        "To connect a real Slack workspace, see README.md, 'Connecting a real Slack workspace'.\n",
        flush=True,
    )
    if open_browser and can_open_browser():
        await asyncio.to_thread(webbrowser.open, demo.url)
    try:
        await _until_stopped()
    finally:
        await demo.close()


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
