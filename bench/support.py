"""What the benchmarks share: seeded sandbox databases cached on disk, `paybot serve` and the
floor run as real subprocesses, signed `/pay` requests, percentiles and resident memory."""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.clock import ManualClock
from bot.config import load_settings
from bot.processors.sandbox import SandboxSimulator
from bot.server import event_loop_runner
from bot.store import open_store
from bot.workspace.signing import sign
from bot.workspace.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)  # the seeds' clock, as in bench/history.py
CHUNK = 100_000  # seeded in chunks of this many, each with its own seed (as bench/history.py)

BOT_TOKEN = "xoxb-bench-0000000000-token"  # noqa: S105 - the fake workspace's token
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"  # noqa: S105
WEBHOOK_SECRET = "bench-sandbox-webhook-secret"  # noqa: S105
APPROVALS = "C0APPROVALS"
NOTIFY = "C0NOTIFY"
T = TypeVar("T")
OURS = ("SLACK_", "PAYBOT_", "PAYMENTS_", "DATABASE_", "STRIPE_", "PAYRIX_")


def run(main: Coroutine[Any, Any, T]) -> T:
    """The benchmark's own side (load, FakeSlack) on the loop `paybot serve` uses: uvloop when
    installed, so the measuring side takes as little of the machine as it can."""
    return event_loop_runner()(main)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def seeded_database(transactions: int, seed: int = 1) -> Path:
    """A sandbox database of ``transactions`` rows, seeded once and kept in bench/.cache/.

    Chunk n is seeded with ``seed + n``: with seed 1 a million rows are the same as those
    bench/history.py seeds on its own. Copy the file before writing to it.
    """
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    path = CACHE / f"sandbox-{transactions}-seed{seed}.db"
    if path.exists():
        return path
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, *(partial.with_name(partial.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    clock = ManualClock(NOW)
    store = await open_store(load_settings(database_url=sqlite_url(partial)), clock=clock)
    try:
        simulator = SandboxSimulator(store.sessions, clock)
        started, done, number = time.perf_counter(), 0, 0
        while done < transactions:
            done += await simulator.seed(min(CHUNK, transactions - done), seed=seed + number)
            number += 1
            print(f"  seeded {done:>9,} of {transactions:,} ({time.perf_counter() - started:.0f}s)")
        async with store.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await store.close()
    partial.rename(path)
    return path


def copy_database(source: Path, folder: Path, name: str = "paybot.db") -> str:
    """A private copy of a cached database (the bot writes to it); its URL."""
    target = folder / name
    shutil.copyfile(source, target)
    return sqlite_url(target)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank: the smallest value at least ``fraction`` of the values are not above."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def resident_mb(pid: int) -> float:
    """VmRSS from /proc/PID/status, in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise LookupError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A server subprocess on a free loopback port, ready when GET /healthz answers 200."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 120, poll: float = 0.05) -> None:  # noqa: ASYNC109 - a start-up deadline
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603, ASYNC220 - our own interpreter; returns at once
                [*self.argv, "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
                try:
                    async with http.get(f"{self.url}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")
                await asyncio.sleep(poll)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(OURS)}


def paybot_server(
    database_url: str, slack_api_url: str, folder: Path, extra: Mapping[str, str] | None = None
) -> Server:
    """`paybot serve` with the production defaults, but for the per-person command limit (the
    benchmark's few users send hundreds of commands a minute)."""
    env = clean_environment() | {
        "DATABASE_URL": database_url,
        "SLACK_API_URL": slack_api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PAYBOT_APPROVALS_CHANNEL": APPROVALS,
        "PAYBOT_NOTIFY_CHANNEL": NOTIFY,
        "PAYBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PAYBOT_RATE_LIMIT_PER_MINUTE": "1000000",
        **(extra or {}),
    }
    return Server("paybot", [sys.executable, "-m", "bot", "serve"], env, folder / "paybot.log")


def floor_server(slack_api_url: str, folder: Path) -> Server:
    env = clean_environment() | {
        "SLACK_API_URL": slack_api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }
    script = str(Path(__file__).resolve().parent / "floor.py")
    return Server("floor", [sys.executable, script], env, folder / "floor.log")


class WatchedSlack(FakeSlack):
    """The fake Web API, telling the benchmark the moment a response_url post arrives."""

    def __init__(self) -> None:
        super().__init__(bot_token=BOT_TOKEN)
        self.arrived: dict[str, asyncio.Event] = {}

    def expect_response(self, url: str) -> asyncio.Event:
        return self.arrived.setdefault(url.rsplit("/", 1)[-1], asyncio.Event())

    async def _serve_response(self, request: web.Request) -> web.Response:
        answer = await super()._serve_response(request)
        self.expect_response(request.match_info["key"]).set()
        return answer


@dataclass(frozen=True)
class SignedCommand:
    body: bytes
    headers: dict[str, str]
    response_url: str
    expect: str = ""  # what the answer must contain to be the right one


def slash_command(
    fake: FakeSlack, user_id: str, text: str, expect: str = "", channel: str = "C0GENERAL"
) -> SignedCommand:
    """A `/pay` request exactly as bot/workspace/sender.py's SlackSender.command sends it,
    built ahead of time so signing it is not part of what is measured."""
    response_url = fake.response_url(channel=channel, user=user_id)
    form = {
        "token": "verification-token",
        "team_id": fake.team_id,
        "team_domain": fake.team_domain,
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": "/pay",
        "text": text,
        "api_app_id": fake.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": fake.new_trigger_id(user_id),
    }
    body = urlencode(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, SIGNING_SECRET)}
    return SignedCommand(body.encode(), headers, response_url, expect)


def when() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")


def machine() -> str:
    """nproc, the CPU model and the Python version: the line every figure is quoted with."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores ({model}), Python {sys.version.split()[0]}"
