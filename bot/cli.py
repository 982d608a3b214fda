"""The `paybot` command: serve the bot, manage portal users, drive the sandbox processor."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bot.audit_command import add_audit_commands
from bot.config import Settings, load_settings, unknown_variables
from bot.domain import Account, MethodType, Money, PaymentKind, Source
from bot.errors import ConfigError, PaybotError
from bot.logs import configure as configure_logging
from bot.logs import secrets_of
from bot.roles import Role
from bot.services.users import NewUser
from bot.store import Store, open_store

Runner = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def _fail(message: str) -> int:
    print(f"paybot: {message}", file=sys.stderr)
    return 2


def public_url(value: str) -> str:
    """An http(s) address: Payrix posts its alerts there, so a bare name would never arrive."""
    if not value.startswith(("https://", "http://")) or len(value.split("://", 1)[1]) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not an address: give https://…")
    return value.rstrip("/")


async def _with_store(
    settings: Settings, work: Callable[[Store], Awaitable[int]], *, slack: bool = False
) -> int:
    """`slack`: with SLACK_BOT_TOKEN set, Slack ids given are checked with users.info."""
    store = await open_store(settings)
    http = None
    try:
        if slack and settings.slack_bot_token is not None:
            import aiohttp

            from bot.app import slack_client
            from bot.slack.identity import identify
            from bot.slack.members import SlackMembers

            http = aiohttp.ClientSession()
            client = slack_client(settings, http)
            await identify(client)  # a wrong SLACK_API_URL or token is named, as `serve` names it
            store.services.users.slack_members = SlackMembers(client).problem
        return await work(store)
    finally:
        if http is not None:
            await http.close()
        await store.close()


async def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.server import serve

    await serve(settings, host=args.host, port=args.port)
    return 0


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo

    await run_demo(host=args.host, port=args.port, open_browser=not args.no_browser)
    return 0


async def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.check import run_checks

    findings = await run_checks(settings, manifest=args.manifest)
    for finding in findings:
        print(finding.line())
    problems = sum(1 for f in findings if f.problem)
    print(f"{problems} problem(s) found" if problems else "nothing found wrong")
    return 1 if problems else 0


async def cmd_socket(args: argparse.Namespace, settings: Settings) -> int:
    from bot.server import serve_socket_mode

    await serve_socket_mode(settings, host=args.host, port=args.port)
    return 0


async def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        user = await store.services.users.add(
            None,
            NewUser(args.username, args.full_name, args.email, args.role, args.slack_user),
            Source.CLI,
        )
        print(f"added {user.username} ({user.role})")
        return 0

    return await _with_store(settings, work, slack=True)


async def cmd_users_set_slack(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        user = await store.services.users.set_slack(
            None, args.username, args.slack_user, Source.CLI
        )
        print(f"{user.username}: linked to Slack user {user.slack_user_id}")
        return 0

    return await _with_store(settings, work, slack=True)


async def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        page = 0
        while True:
            result = await store.services.users.search(args.search, page=page, per_page=100)
            for u in result.users:
                status = "Active" if u.active else "Inactive"
                print(
                    f"{u.username}\t{u.full_name}\t{u.email}\t{u.role}\t{status}\t{u.slack_user_id or '-'}"
                )
            if not result.has_next:
                return 0
            page += 1

    return await _with_store(settings, work)


def _users_change(**change: Any) -> Runner:
    async def run(args: argparse.Namespace, settings: Settings) -> int:
        async def work(store: Store) -> int:
            users = store.services.users
            if "active" in change:
                user = await users.set_active(None, args.username, change["active"], Source.CLI)
            else:
                user = await users.set_role(None, args.username, args.role, Source.CLI)
            print(f"{user.username}: {user.role}, {'Active' if user.active else 'Inactive'}")
            return 0

        return await _with_store(settings, work)

    return run


def _simulator(store: Store) -> Any:
    from bot.processors.sandbox import SandboxSimulator

    if store.services.settings.payments_backend != "sandbox":
        raise PaybotError("sandbox commands need PAYMENTS_BACKEND=sandbox")
    from bot.processors.factory import sandbox_fees

    fees = sandbox_fees(store.services.settings)
    return SandboxSimulator(store.sessions, store.services.clock, fees=fees)


async def cmd_sandbox_charge(args: argparse.Namespace, settings: Settings) -> int:
    try:
        amount = Money.parse(args.amount, args.currency)
    except ValueError as exc:
        return _fail(f"--amount: {exc}")
    if not (len(args.last4) == 4 and args.last4.isdigit()):
        return _fail("--last4 must be exactly four digits")

    async def work(store: Store) -> int:
        txn = await _simulator(store).charge(
            amount=amount,
            method=MethodType(args.method),
            kind=PaymentKind(args.kind),
            matter_id=args.matter,
            account=Account(args.account),
            brand=args.brand if args.method == "card" else None,
            last4=args.last4,
            customer_name=args.customer,
            captured=not args.uncaptured,
        )
        print(f"{txn.kind.value} {txn.amount} {txn.method} matter {txn.matter_id or '-'}")
        print(txn.id)
        return 0

    return await _with_store(settings, work)


async def cmd_sandbox_seed(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        count = await _simulator(store).seed(args.transactions, seed=args.seed)
        print(f"seeded {count} transactions")
        return 0

    return await _with_store(settings, work)


async def cmd_sandbox_show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        record = await _simulator(store).show(args.id)
        print(json.dumps(record, indent=2, default=str))
        return 0

    return await _with_store(settings, work)


async def cmd_matters_add(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        matter = await store.services.matters.put(args.matter, args.name, args.member or [])
        print(f"{matter.id} {matter.name}: {len(matter.members)} member(s)")
        return 0

    return await _with_store(settings, work)


async def cmd_matters_import(args: argparse.Namespace, settings: Settings) -> int:
    if not args.file.is_file():
        return _fail(f"{args.file} is not a file")

    async def work(store: Store) -> int:
        matters = await store.services.matters.import_csv(args.file)
        for matter in matters:
            print(f"{matter.id} {matter.name}: {len(matter.members)} member(s)")
        return 0

    return await _with_store(settings, work)


async def cmd_sandbox_dispute(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        dispute = await _simulator(store).dispute(
            args.id, reason=args.reason, network_code=args.code
        )
        print(
            f"dispute {dispute.amount} on {dispute.transaction_id}, respond by {dispute.respond_by:%Y-%m-%d}"
        )
        print(dispute.id)
        return 0

    return await _with_store(settings, work)


async def cmd_sandbox_resolve(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        dispute = await _simulator(store).resolve_dispute(args.id, won=args.outcome == "won")
        print(f"{dispute.id} {dispute.status.value}")
        return 0

    return await _with_store(settings, work)


async def cmd_sandbox_return(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        payment_return = await _simulator(store).return_payment(args.id, code=args.code)
        print(
            f"return {payment_return.code} {payment_return.amount} on {payment_return.transaction_id}"
        )
        print(payment_return.id)
        return 0

    return await _with_store(settings, work)


async def cmd_sandbox_settle(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        result = await _simulator(store).settle()
        for refund in result.refunds:
            print(f"refund {refund.id} of {refund.amount} on {refund.transaction_id} settled")
        for withdrawal in result.withdrawals:
            account = withdrawal.account.value if withdrawal.account else "the"
            fees = f" (fees {withdrawal.fees} taken)" if withdrawal.fees else ""
            print(f"{account} withdrawal {withdrawal.id} of {withdrawal.amount} paid{fees}")
        else:
            print("no withdrawal: nothing to pay out")
        return 0

    return await _with_store(settings, work)


async def cmd_payrix(args: argparse.Namespace, settings: Settings) -> int:
    """`paybot payrix alerts|batches`: in the Payrix package, imported only when asked for."""
    from bot.processors.payrix import commands

    run: Runner = getattr(commands, args.payrix)
    return await run(args, settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paybot", description=__doc__)
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log at DEBUG and show the traceback of a failure (also PAYBOT_LOG_LEVEL=DEBUG)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the bot over HTTP (/slack/events, /healthz)")
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104  (a server listens on all interfaces)
    serve.add_argument("--port", type=int, default=3000, help="1 to 65535; 0 takes a free one")
    serve.set_defaults(run=cmd_serve)

    check = sub.add_parser(
        "check", help="before going live: ask Slack and the processor what would go wrong"
    )
    check.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="the app manifest the token's scopes are held against (default: manifest.yml)",
    )
    check.set_defaults(run=cmd_check)

    socket = sub.add_parser(
        "socket",
        help="run the bot over Socket Mode (needs SLACK_APP_TOKEN); webhooks, /healthz and "
        "/metrics over HTTP on --port",
    )
    socket.add_argument("--host", default="0.0.0.0")  # noqa: S104  (as serve)
    socket.add_argument("--port", type=int, default=3000)
    socket.set_defaults(run=cmd_socket)

    demo = sub.add_parser(
        "demo", help="the bot on the sandbox in a local Slack-like workspace in the browser"
    )
    demo.add_argument(
        "--host",
        default="127.0.0.1",
        help="where to listen; default loopback only (from elsewhere, use an SSH tunnel)",
    )
    demo.add_argument("--port", type=int, default=3000)
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser")
    demo.set_defaults(run=cmd_demo)

    users = sub.add_parser("users", help="portal users").add_subparsers(dest="users", required=True)
    add = users.add_parser("add", help="add a portal user linked to a Slack user")
    add.add_argument(
        "--username", required=True, help="letters and digits, 3 to 32; never an e-mail"
    )
    add.add_argument("--full-name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--slack-user", default=None, help="the Slack user id, e.g. U0123ABCD")
    add.set_defaults(run=cmd_users_add)
    listing = users.add_parser("list", help="list portal users")
    listing.add_argument("search", nargs="?", default=None)
    listing.set_defaults(run=cmd_users_list)
    for name, active in (("deactivate", False), ("activate", True)):
        p = users.add_parser(name, help=f"{name} a portal user")
        p.add_argument("username")
        p.set_defaults(run=_users_change(active=active))
    relink = users.add_parser("set-slack", help="link a portal user to another Slack user id")
    relink.add_argument("username")
    relink.add_argument("slack_user", help="the Slack member id, e.g. U0123ABCD")
    relink.set_defaults(run=cmd_users_set_slack)
    role = users.add_parser("set-role", help="change a portal user's role")
    role.add_argument("username")
    role.add_argument("role", choices=[r.value for r in Role])
    role.set_defaults(run=_users_change(role=True))

    matters = sub.add_parser("matters", help="matters and the people told of their refunds")
    matter_commands = matters.add_subparsers(dest="matters", required=True)
    madd = matter_commands.add_parser("add", help="create or replace a matter and its members")
    madd.add_argument("matter")
    madd.add_argument("--name", required=True)
    madd.add_argument("--member", action="append", help="a member's e-mail; repeat for more")
    madd.set_defaults(run=cmd_matters_add)
    mimport = matter_commands.add_parser("import", help="matters from a CSV: matter,name,member")
    mimport.add_argument("file", type=Path)
    mimport.set_defaults(run=cmd_matters_import)

    sandbox = sub.add_parser(
        "sandbox", help="act as the embedded sandbox processor"
    ).add_subparsers(dest="sandbox", required=True)
    charge = sandbox.add_parser("charge", help="a new payment; prints its id as the last line")
    charge.add_argument("--amount", required=True, help="e.g. 125.50")
    charge.add_argument("--currency", default="USD")
    charge.add_argument("--method", choices=[m.value for m in MethodType], default="card")
    charge.add_argument(
        "--kind", choices=[PaymentKind.SALE.value, PaymentKind.AUTHORIZATION.value], default="sale"
    )
    charge.add_argument(
        "--uncaptured", action="store_true", help="leave an authorization uncaptured"
    )
    charge.add_argument("--matter", default=None)
    charge.add_argument("--account", choices=[a.value for a in Account], default="operating")
    charge.add_argument("--brand", default="visa")
    charge.add_argument("--last4", default="4242")
    charge.add_argument("--customer", default=None, help="the payer's name")
    charge.set_defaults(run=cmd_sandbox_charge)
    seed = sandbox.add_parser("seed", help="deterministic data for demos and benchmarks")
    seed.add_argument("--transactions", type=int, default=1000)
    seed.add_argument("--seed", type=int, default=7)
    seed.set_defaults(run=cmd_sandbox_seed)
    dispute = sandbox.add_parser("dispute", help="the cardholder's bank opens a chargeback")
    dispute.add_argument("id", help="the transaction id")
    dispute.add_argument("--reason", default=None)
    dispute.add_argument("--code", default=None, help="network reason code, e.g. 13.1")
    dispute.set_defaults(run=cmd_sandbox_dispute)
    resolve = sandbox.add_parser("resolve", help="the bank decides a dispute")
    resolve.add_argument("id", help="the dispute id")
    resolve.add_argument("outcome", choices=["won", "lost"])
    resolve.set_defaults(run=cmd_sandbox_resolve)
    returned = sandbox.add_parser("return", help="the bank returns an ACH payment")
    returned.add_argument("id", help="the transaction id")
    returned.add_argument("--code", default="R01", help="NACHA return code, e.g. R01")
    returned.set_defaults(run=cmd_sandbox_return)
    settle = sandbox.add_parser("settle", help="pending refunds settle; a withdrawal is made")
    settle.set_defaults(run=cmd_sandbox_settle)
    show = sandbox.add_parser("show", help="the processor's own record of a transaction, as JSON")
    show.add_argument("id")
    show.set_defaults(run=cmd_sandbox_show)
    add_audit_commands(sub)
    payrix = sub.add_parser(
        "payrix", help="PAYMENTS_BACKEND=payrix: alerts and batches"
    ).add_subparsers(dest="payrix", required=True)
    alerts = payrix.add_parser("alerts", help="the Payrix /alerts setup for this bot's webhook")
    alerts.add_argument(
        "--url", required=True, type=public_url, help="the bot's public address, https://…"
    )
    alerts.add_argument(
        "--login", default=None, help="the Payrix login (t1_log_…) owning the alert"
    )
    alerts.add_argument("--apply", action="store_true", help="create it at Payrix (once)")
    alerts.set_defaults(run=cmd_payrix)
    batches = payrix.add_parser("batches", help="settlement batches with their transactions")
    batches.add_argument("--limit", type=int, default=10)
    batches.set_defaults(run=cmd_payrix)
    return parser


def _settings(command: str) -> Settings:
    """The demo makes its own settings, so a `.env` meant for a real workspace, even a broken
    one, does not stop it; every other command stops on a malformed setting."""
    try:
        return load_settings()
    except ConfigError:
        if command != "demo":
            raise
        return Settings.model_construct()


def main(argv: Sequence[str] | None = None) -> int:
    """Every failure a person can cause ends here as one line on stderr and exit status 2;
    the traceback only with --debug or PAYBOT_LOG_LEVEL=DEBUG."""
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words  # accepted after the subcommand too
    args = build_parser().parse_args([w for w in words if w != "--debug"])
    try:
        settings = _settings(args.command)
        debug = debug or settings.paybot_log_level == "DEBUG"
        configure_logging(
            secrets_of(settings),
            level="DEBUG" if debug else settings.paybot_log_level,
            form=settings.paybot_log_format,
        )
        for warning in unknown_variables():
            logging.getLogger("paybot.config").warning(warning)
        run: Callable[[Coroutine[Any, Any, int]], int] = asyncio.run
        if args.command in ("serve", "socket"):
            from bot.server import event_loop_runner

            run = event_loop_runner()
        code: int = run(args.run(args, settings))
        return code
    except KeyboardInterrupt:
        return 130
    except PaybotError as exc:
        if debug:
            traceback.print_exc()
        return _fail(exc.message)
    except Exception as exc:
        if debug:
            traceback.print_exc()
            return _fail(f"{type(exc).__name__}: {exc}")
        first = (str(exc).strip().splitlines() or [""])[0]
        return _fail(f"{type(exc).__name__}: {first} (run with --debug for the traceback)")


if __name__ == "__main__":
    sys.exit(main())
