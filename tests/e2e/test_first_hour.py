"""What a newcomer meets in the first hour, through the real `paybot` command in a subprocess:
every start-up mistake in one line (exit status 2, no traceback), plain logs on a terminal and
JSON in a pipe, `matters import` all or nothing, Slack ids checked, and `paybot check`."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.config import load_settings
from bot.db.models import Matter
from bot.domain import Source
from bot.services.users import NewUser
from bot.store import open_store
from bot.workspace.slack_api import FakeSlack
from tests.conftest import (
    APPROVALS,
    BOT_TOKEN,
    NOTIFY,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    Harness,
    free_port,
)
from tests.e2e.test_access import audit_rows
from tests.e2e.test_cli import environment, paybot
from tests.payrix_standin import MERCHANT, PayrixStandIn


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


async def run_paybot(*args: str, env: dict[str, str], cwd: Path | None = None) -> Run:
    """`paybot` as a process while this event loop serves the fakes it talks to."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=environment({"PYTHONPATH": str(Path(__file__).parents[2]), **env}),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def one_line(stderr: str, *named: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    for word in named:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def db(database_url: str) -> str:
    """A database already migrated: a first run's migrations are logged, and are not errors."""
    return database_url


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(bot_token=BOT_TOKEN)
    await slack.start()
    slack.add_channel(APPROVALS, "payments-approvals")
    slack.add_channel(NOTIFY, "payments")
    yield slack
    await slack.stop()


def bot_env(db: str, fake: FakeSlack) -> dict[str, str]:
    return {
        "DATABASE_URL": db,
        "SLACK_API_URL": fake.base_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PAYBOT_APPROVALS_CHANNEL": APPROVALS,
        "PAYBOT_NOTIFY_CHANNEL": NOTIFY,
        "PAYBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


# -- start-up failures ---------------------------------------------------------------------


def closed_port() -> int:
    return free_port()


@pytest.mark.parametrize(
    ("args", "settings", "named"),
    [
        (
            ["users", "list"],
            {"DATABASE_URL": "sqlite+aiosqlite:////no/such/folder/p.db"},
            ["/no/such/folder", "does not exist"],
        ),
        (
            ["users", "list"],
            {
                "DATABASE_URL": f"postgresql+asyncpg://paybot:hunter22@127.0.0.1:{closed_port()}/paybot"
            },
            ["DATABASE_URL", "could not be used", "***"],
        ),
        (["serve", "--port", "99999"], {}, ["--port 99999", "not a port"]),
        (["demo", "--no-browser", "--port", "99999"], {}, ["--port 99999", "not a port"]),
        (
            ["demo", "--no-browser", "--host", "no.such.host.invalid"],
            {},
            ["cannot listen on no.such.host.invalid:3000"],
        ),
        (
            ["socket"],
            {},
            ["SLACK_APP_TOKEN, SLACK_BOT_TOKEN, PAYBOT_APPROVALS_CHANNEL, PAYBOT_NOTIFY_CHANNEL"],
        ),
        (
            ["serve"],
            {},
            [
                "SLACK_BOT_TOKEN",
                "SLACK_SIGNING_SECRET",
                "PAYBOT_APPROVALS_CHANNEL",
                "PAYBOT_NOTIFY_CHANNEL",
            ],
        ),
        (
            ["serve"],
            {"PAYBOT_NOTIFY_CHANNEL": "#payments"},
            ["PAYBOT_NOTIFY_CHANNEL", "not its name #payments"],
        ),
        (
            ["serve"],
            {"PAYBOT_APPROVALS_CHANNEL": "payments approvals"},
            ["PAYBOT_APPROVALS_CHANNEL", "channel id"],
        ),
        (["users", "list"], {"PAYBOT_LEASE_SECONDS": "0"}, ["PAYBOT_LEASE_SECONDS"]),
        (["users", "list"], {"DATABASE_URL": "sqlite+aiosqlite://"}, ["must name a database"]),
        (
            ["users", "list"],
            {"DATABASE_URL": "sqlite+aiosqlite:///:memory:"},
            ["DATABASE_URL", "must name a database file"],
        ),
        (
            ["users", "set-slack", "bob1", "U012ABCDEF"],
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/",
            },
            ["SLACK_API_URL", "could not be reached"],
        ),
        (["users", "list"], {"PAYBOT_LOG_FORMAT": "xml"}, ["PAYBOT_LOG_FORMAT"]),
    ],
)
def test_a_start_up_mistake_is_one_line_and_exit_status_2(
    db: str, args: list[str], settings: dict[str, str], named: list[str]
) -> None:
    result = paybot(*args, env={"DATABASE_URL": db, **settings})
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr, *named)
    assert "hunter22" not in line


def test_debug_shows_the_traceback_and_still_ends_with_the_line(db: str) -> None:
    missing = {"DATABASE_URL": "sqlite+aiosqlite:////no/such/folder/p.db"}
    for args, env in (
        (["--debug", "users", "list"], missing),
        (["users", "list", "--debug"], missing),
        (["users", "list"], {**missing, "PAYBOT_LOG_LEVEL": "debug"}),
    ):
        result = paybot(*args, env=env)
        assert result.returncode == 2
        assert "Traceback" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("paybot: DATABASE_URL points")


def test_a_broken_manifest_and_an_address_that_is_not_one_are_said_shortly(
    db: str, tmp_path: Path
) -> None:
    broken = tmp_path / "manifest.yml"
    broken.write_text("oauth_config: [\n  bad: : :\n", encoding="utf-8")
    checked = paybot("check", "--manifest", str(broken), env={"DATABASE_URL": db})
    assert checked.returncode == 2
    one_line(checked.stderr, "has no oauth_config.scopes.bot list")
    alerts = paybot("payrix", "alerts", "--url", "notaurl", env={"DATABASE_URL": db})
    assert alerts.returncode == 2 and "Traceback" not in alerts.stderr
    assert "'notaurl' is not an address: give https://" in alerts.stderr.splitlines()[-1]


async def test_serve_with_the_database_folder_missing_is_one_line(fake: FakeSlack) -> None:
    env = bot_env("sqlite+aiosqlite:////no/such/folder/p.db", fake)
    result = await run_paybot("serve", "--port", "0", env=env)
    assert result.returncode == 2
    one_line(
        result.stderr, "DATABASE_URL points into /no/such/folder, a folder that does not exist"
    )


async def test_an_unknown_timezone_stops_serve_with_one_line_naming_it(
    db: str, fake: FakeSlack
) -> None:
    env = {**bot_env(db, fake), "PAYBOT_TIMEZONE": "America/Atlantis"}
    result = await run_paybot("serve", "--port", "0", env=env)
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, "PAYBOT_TIMEZONE", "'America/Atlantis' is not a time zone")
    assert "listening" not in result.stderr


async def test_a_busy_port_is_one_line_for_serve_and_demo(
    db: str, fake: FakeSlack, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        served = await run_paybot(
            "serve", "--host", "127.0.0.1", "--port", port, env=bot_env(db, fake)
        )
        demo = await run_paybot("demo", "--no-browser", "--port", port, env={}, cwd=tmp_path)
    for result in (served, demo):
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("paybot:")]
        assert lines == [
            f"paybot: port {port} is not free (Address already in use); try --port {int(port) + 1}"
        ]
        assert "Traceback" not in result.stderr
    assert "listening" not in served.stderr
    assert "will be ignored" not in served.stderr, "Bolt is given no token beside `authorize`"
    assert "slack_bolt" not in served.stderr, served.stderr  # no warning about the token either


async def test_a_slack_url_that_is_not_slack_or_does_not_answer_is_named(
    db: str, fake: FakeSlack
) -> None:
    async def not_slack(request: web.Request) -> web.Response:
        return web.Response(status=404, text="<html>Not Found</html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", not_slack)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        elsewhere = await run_paybot(
            "serve",
            "--port",
            "0",
            env=bot_env(db, fake) | {"SLACK_API_URL": f"http://127.0.0.1:{port}/api/"},
        )
        nobody = await run_paybot(
            "serve",
            "--port",
            "0",
            env=bot_env(db, fake) | {"SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/"},
        )
        refused = await run_paybot(
            "serve", "--port", "0", env=bot_env(db, fake) | {"SLACK_BOT_TOKEN": "xoxb-not-this-one"}
        )
    finally:
        await runner.cleanup()
    assert elsewhere.returncode == nobody.returncode == refused.returncode == 2
    assert "does not answer as Slack's Web API (HTTP 404)" in one_line(
        elsewhere.stderr, "SLACK_API_URL"
    )
    assert "could not be reached" in one_line(nobody.stderr, "SLACK_API_URL")
    assert "was refused by Slack (invalid_auth)" in one_line(refused.stderr, "SLACK_BOT_TOKEN")
    assert "not-this-one" not in refused.stderr


def test_an_unknown_variable_is_warned_about_with_the_closest_name(db: str) -> None:
    result = paybot(
        "users",
        "list",
        env={"DATABASE_URL": db, "PAYBOT_NOTIFY_CHANEL": "C1", "STRIPE_APIKEY": "x"},
    )
    assert result.returncode == 0, result.stderr
    warned = [
        json.loads(line)["message"]
        for line in result.stderr.splitlines()
        if "is not a Paybot setting" in line
    ]
    assert warned == [
        "PAYBOT_NOTIFY_CHANEL is not a Paybot setting and is ignored: did you mean PAYBOT_NOTIFY_CHANNEL?",
        "STRIPE_APIKEY is not a Paybot setting and is ignored: did you mean STRIPE_API_KEY?",
    ]


def test_a_broken_env_file_stops_a_command_but_not_the_demo(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PAYBOT_NOTIFY_PACE=fast\n")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=tmp_path,
            env=environment({"PYTHONPATH": str(Path(__file__).parents[2])}),
            capture_output=True,
            text=True,
            timeout=120,
        )

    listed = run("users", "list")
    assert listed.returncode == 2
    one_line(listed.stderr, "PAYBOT_NOTIFY_PACE is malformed")
    demo = run("demo", "--no-browser", "--port", "99999")  # the demo's own settings: past .env
    assert demo.returncode == 2
    one_line(demo.stderr, "--port 99999")


# -- logs for people and for machines ------------------------------------------------------


def stderr_on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """stderr through a pseudo-terminal, as a person at a shell sees it."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=environment(env),
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_a_terminal_gets_plain_lines_and_a_pipe_json_lines(tmp_path: Path) -> None:
    terminal = stderr_on_a_terminal(
        "users", "list", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tty.db'}"}
    )
    lines = terminal.strip().splitlines()
    assert lines, "a first run migrates, and says so"
    for line in lines:
        assert re.fullmatch(
            r"\d\d:\d\d:\d\d INFO alembic\.runtime\.migration: Running upgrade .*", line
        ), line
    piped = paybot(
        "users", "list", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pipe.db'}"}
    )
    records = [json.loads(line) for line in piped.stderr.strip().splitlines()]
    assert records and all(r["message"].startswith("Running upgrade") for r in records)
    forced = stderr_on_a_terminal(
        "users",
        "list",
        env={
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tty.db'}",
            "PAYBOT_LOG_FORMAT": "json",
            "PAYBOT_NOTIFY_CHANEL": "C1",
        },
    )
    assert json.loads(forced.strip())["level"] == "WARNING"
    again = paybot(
        "users", "list", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pipe.db'}"}
    )
    assert again.stderr == "", "alembic is quiet when there is nothing to migrate"


# -- matters import ------------------------------------------------------------------------

GOOD = "matter,name,member\nMAT-1,Smith v Jones,a@firm.com;b@firm.com\nMAT-2,Estate of Lee,c@firm.com\n"


async def matters_in(db: str) -> int:
    store = await open_store(load_settings(_env_file=None, database_url=db))
    try:
        async with store.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Matter)) or 0)
    finally:
        await store.close()


def test_matters_import_takes_utf8_with_or_without_a_byte_order_mark(
    db: str, tmp_path: Path
) -> None:
    for name, data in (
        ("plain.csv", GOOD.encode()),
        ("excel.csv", b"\xef\xbb\xbf" + GOOD.replace("Lee", "Lé").encode()),
    ):
        (tmp_path / name).write_bytes(data)
        result = paybot("matters", "import", str(tmp_path / name), env={"DATABASE_URL": db})
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[0] == "MAT-1 Smith v Jones: 2 member(s)"
    assert asyncio.run(matters_in(db)) == 2


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (
            "matter,name,member\nMAT-1,Smith v Jones,a@firm.com\nMAT-2,Müller GmbH,c@firm.com\n".encode(
                "latin-1"
            ),
            "line 3: not UTF-8",
        ),
        (
            GOOD + "MAT-3,Third,not-an-email\n",
            "line 4: 'not-an-email' is not a valid e-mail address",
        ),
        (GOOD + ",No id,d@firm.com\n", "line 4: no matter id"),
        (GOOD + 'MAT-3,"unterminated,a@firm.com\n', "line 4: broken quoting"),
        (
            'matter,name,member\nMAT-3,"Smith "Jr",a@firm.com\n' + GOOD.split("\n", 1)[1],
            "line 2: broken quoting",
        ),
        (
            GOOD + "MAT-3,Smith, Jones and Lee,a@firm.com\n",
            "line 4: 4 fields where the header has 3",
        ),
        ("matter,title,member\nMAT-1,x,a@firm.com\n", "missing name"),
    ],
)
def test_matters_import_with_a_bad_line_imports_nothing_and_names_the_line(
    db: str, tmp_path: Path, data: str | bytes, named: str
) -> None:
    path = tmp_path / "matters.csv"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    result = paybot("matters", "import", str(path), env={"DATABASE_URL": db})
    assert result.returncode == 2
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("paybot:")]
    assert len(line) == 1 and named in line[0], result.stderr
    assert "Traceback" not in result.stderr
    assert asyncio.run(matters_in(db)) == 0


def test_matters_import_names_every_bad_line(db: str, tmp_path: Path) -> None:
    path = tmp_path / "matters.csv"
    path.write_text(GOOD + ",x,a@firm.com\nMAT-4,y,bad\n")
    result = paybot("matters", "import", str(path), env={"DATABASE_URL": db})
    assert result.returncode == 2
    assert "line 4: no matter id; line 5: 'bad' is not a valid e-mail address" in result.stderr


# -- Slack ids -----------------------------------------------------------------------------


def add_args(slack_user: str, username: str = "ada") -> list[str]:
    return [
        "users",
        "add",
        "--username",
        username,
        "--full-name",
        "Ada Admin",
        "--email",
        f"{username}@firm.com",
        "--role",
        "admin",
        "--slack-user",
        slack_user,
    ]


@pytest.mark.parametrize("typo", ["typo", "u0123abcd", "@ada", "ada@firm.com", "C0123ABCD"])
def test_users_add_refuses_what_is_not_a_slack_member_id(db: str, typo: str) -> None:
    result = paybot(*add_args(typo), env={"DATABASE_URL": db})
    assert result.returncode == 2
    one_line(result.stderr, "is not a Slack member id", "Copy member ID")


async def test_with_a_token_slack_confirms_the_person_exists_and_is_active(
    db: str, fake: FakeSlack
) -> None:
    fake.add_user("U0ADA", "ada", "Ada Admin", "ada@firm.com")
    fake.add_user("U0GONE", "gone", "Gone Person", "gone@firm.com", deleted=True)
    env = bot_env(db, fake)
    unknown = await run_paybot(*add_args("U0NOBODY"), env=env)
    assert unknown.returncode == 2
    one_line(unknown.stderr, "No Slack user has the id U0NOBODY")
    gone = await run_paybot(*add_args("U0GONE"), env=env)
    assert gone.returncode == 2
    one_line(gone.stderr, "U0GONE is deactivated")
    added = await run_paybot(*add_args("U0NOBODY"), env={"DATABASE_URL": db})
    assert added.returncode == 0, "without a token only the shape is checked"
    fixed = await run_paybot("users", "set-slack", "ada", "U0ADA", env=env)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.strip() == "ada: linked to Slack user U0ADA"
    assert (await run_paybot("users", "set-slack", "ada", "U0GONE", env=env)).returncode == 2
    typo = await run_paybot("users", "set-slack", "ada", "typo", env=env)
    assert typo.returncode == 2
    one_line(typo.stderr, "not a Slack member id")
    listed = await run_paybot("users", "list", env=env)
    assert "\tU0ADA" in listed.stdout


# -- paybot check --------------------------------------------------------------------------


async def ready_workspace(db: str, fake: FakeSlack) -> None:
    """A firm ready to go live: an active admin and a staff member, both real Slack people."""
    fake.add_user("U0ADA", "ada", "Ada Admin", "ada@firm.com")
    fake.add_user("U0SAM", "sam", "Sam Staff", "sam@firm.com")
    store = await open_store(load_settings(_env_file=None, database_url=db))
    try:
        for name, role, slack_id in (("ada", "admin", "U0ADA"), ("sam", "staff", "U0SAM")):
            await store.services.users.add(
                None, NewUser(name, name.title(), f"{name}@firm.com", role, slack_id), Source.CLI
            )
    finally:
        await store.close()


def problems(result: Run) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]


async def test_check_finds_nothing_wrong_in_a_ready_workspace(db: str, fake: FakeSlack) -> None:
    await ready_workspace(db, fake)
    result = await run_paybot("check", env=bot_env(db, fake))
    assert result.returncode == 0, result.stdout + result.stderr
    assert problems(result) == []
    assert result.stdout.splitlines()[-1] == "nothing found wrong"
    assert "ok: Slack: the token has every scope manifest.yml asks for (9)" in result.stdout
    assert f"ok: PAYBOT_APPROVALS_CHANNEL {APPROVALS}: the bot is a member" in result.stdout


async def test_check_names_each_fault_and_exits_non_zero(db: str, fake: FakeSlack) -> None:
    await ready_workspace(db, fake)
    fake.scopes.remove("users:read.email")
    fake.channels[NOTIFY].is_member = False
    fake.users["U0SAM"].deleted = True
    result = await run_paybot("check", env=bot_env(db, fake) | {"PAYBOT_WEBHOOK_SECRET": ""})
    assert result.returncode == 1
    assert problems(result) == [
        "PROBLEM: the token lacks the scope(s) users:read.email that manifest.yml asks for: add them under OAuth & Permissions, then reinstall the app",
        f"PROBLEM: PAYBOT_NOTIFY_CHANNEL {NOTIFY}: the bot is not a member; /invite @paybot there",
        "PROBLEM: portal user sam: The Slack user U0SAM is deactivated. Link the right one with paybot users set-slack sam U…, or deactivate sam",
        "PROBLEM: PAYBOT_WEBHOOK_SECRET is not set: sandbox webhooks will be refused (events then arrive only by polling)",
    ]
    assert result.stdout.splitlines()[-1] == "4 problem(s) found"


async def test_check_names_no_admin_a_missing_member_and_missing_settings(
    db: str, fake: FakeSlack
) -> None:
    store = await open_store(load_settings(_env_file=None, database_url=db))
    await store.services.users.add(
        None, NewUser("sam", "Sam", "sam@firm.com", "staff", "U0LEFT"), Source.CLI
    )
    await store.close()
    env = bot_env(db, fake)
    del env["PAYBOT_APPROVALS_CHANNEL"]
    result = await run_paybot("check", env=env)
    assert result.returncode == 1
    found = problems(result)
    assert "PROBLEM: PAYBOT_APPROVALS_CHANNEL is not set: serve and socket need it" in found
    assert any("portal user sam: No Slack user has the id U0LEFT" in line for line in found)
    assert (
        "PROBLEM: no active admin: add one with paybot users add --role admin --slack-user U…"
        in found
    )


async def test_check_names_a_refused_processor_key(db: str, fake: FakeSlack) -> None:
    await ready_workspace(db, fake)
    standin = PayrixStandIn()
    await standin.start()
    try:
        payrix = {
            "PAYMENTS_BACKEND": "payrix",
            "PAYRIX_API_BASE": standin.url,
            "PAYRIX_MERCHANT_ID": MERCHANT,
        }
        refused = await run_paybot(
            "check", env=bot_env(db, fake) | payrix | {"PAYRIX_API_KEY": "not-the-key"}
        )
        ready = {"PAYRIX_API_KEY": standin.api_key, "PAYRIX_ALERT_SECRET": "s3cret-alerts"}
        accepted = await run_paybot("check", env=bot_env(db, fake) | payrix | ready)
    finally:
        await standin.stop()
    assert refused.returncode == 1
    line, alerts = problems(refused)
    assert line.startswith("PROBLEM: the payrix processor refused or failed:"), line
    assert alerts.startswith("PROBLEM: PAYRIX_ALERT_SECRET is not set"), alerts
    assert "not-the-key" not in refused.stdout + refused.stderr
    assert accepted.returncode == 0, accepted.stdout
    assert "ok: the payrix processor answered" in accepted.stdout


async def test_check_with_a_refused_token_says_so_and_fails(db: str, fake: FakeSlack) -> None:
    await ready_workspace(db, fake)
    result = await run_paybot("check", env=bot_env(db, fake) | {"SLACK_BOT_TOKEN": "xoxb-wrong"})
    assert result.returncode == 1
    assert "PROBLEM: SLACK_BOT_TOKEN was refused by Slack (invalid_auth)" in problems(result)


async def test_pay_users_edit_relinks_a_portal_user_after_asking_slack(harness: Harness) -> None:
    admin = await harness.user("ada", "admin")
    await harness.user("ann", "staff", "U0TYPO")
    harness.fake.users["U0TYPO"].deleted = True  # the account Ann was linked to is gone
    harness.fake.add_user("U0GONE", "gone", deleted=True)
    harness.fake.add_user("U0ANN", "ann.lee", "Ann Lee", "ann.lee@firm.com")
    listing = await harness.slack.command(admin, "users")
    await harness.slack.block_action(admin, "users_edit", value="ann", message=listing.json)
    modal = await harness.fake.wait_for(lambda: harness.fake.top_modal(admin), what="edit modal")
    refused = await harness.slack.submit(admin, modal, role="staff", slack_user="U0GONE")
    assert refused.json == {
        "response_action": "errors",
        "errors": {"slack_user": "The Slack user U0GONE is deactivated."},
    }
    saved = await harness.slack.submit(admin, modal, role="manager", slack_user="U0ANN")
    assert saved.json["response_action"] == "update"
    ann = await harness.store.services.users.get("ann")
    assert (ann.role, ann.slack_user_id) == ("manager", "U0ANN")
    last = (await audit_rows(harness))[-1]
    assert (last.before, last.after) == (
        {"role": "staff", "active": True, "slack_user_id": "U0TYPO"},
        {"role": "manager", "active": True, "slack_user_id": "U0ANN"},
    )
    assert await harness.store.services.access.actor("U0ANN") is not None


async def test_the_demo_banner_is_the_last_thing_printed(tmp_path: Path) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--no-browser",
        "--port",
        str(port),
        cwd=tmp_path,
        env=environment({"PYTHONPATH": str(Path(__file__).parents[2])}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = [await asyncio.wait_for(process.stdout.readline(), 90) for _ in range(6)]
        assert "Open  http://127.0.0.1:" in b"".join(banner).decode()
        async with aiohttp.ClientSession() as http:
            for _ in range(3):  # what the page does every second
                async with http.get(
                    f"http://127.0.0.1:{port}/workspace/state", params={"user": "U0SAM"}
                ) as answer:
                    assert answer.status == 200
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0
    assert err.decode() == "", "no migrations, no polling, no Bolt warning around the banner"
