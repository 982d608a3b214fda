"""Real `paybot serve` (or `paybot socket`) processes for multi-process, crash and signal tests:
started, killed, restarted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.conftest import APPROVALS, BOT_TOKEN, NOTIFY, SIGNING_SECRET, WEBHOOK_SECRET, free_port

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
OURS = ("SLACK_", "PAYBOT_", "PAYMENTS_", "DATABASE_", "STRIPE_", "PAYRIX_")


@dataclass
class BotProcess:
    """One `paybot serve` process (`command` "socket" for Socket Mode); its stderr (JSON logs)
    is kept in a file for inspection."""

    database_url: str
    slack_api_url: str
    log_dir: Path
    extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    command: str = "serve"
    # What runs `paybot`: the package, or tests/shifted_clock.py for a process on a moved clock.
    launcher: tuple[str, ...] = ("-m", "bot")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
        return (
            base
            | {
                "DATABASE_URL": self.database_url,
                "SLACK_API_URL": self.slack_api_url,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "PAYBOT_APPROVALS_CHANNEL": APPROVALS,
                "PAYBOT_NOTIFY_CHANNEL": NOTIFY,
                "PAYBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "PAYBOT_WORKER_INTERVAL": "0.1",
                "PAYBOT_SWEEP_INTERVAL": "0.1",
                "PAYBOT_NOTIFY_PACE": "0",
                "PAYBOT_LEASE_SECONDS": "2",
                "PAYBOT_RATE_LIMIT_PER_MINUTE": "100000",
            }
            | self.extra
        )

    async def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"paybot-{self.port}-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                *self.launcher,
                self.command,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = asyncio.get_running_loop().time() + 30
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"paybot exited with {self.process.returncode}: {self.logs()[-2000:]}"
                    )
                try:
                    async with http.get(f"{self.url}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"paybot did not start: {self.logs()[-2000:]}")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine or container dies."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")
            for p in sorted(self.log_dir.glob(f"paybot-{self.port}-*.log"))
        )


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A database of its own on the machine's PostgreSQL, dropped afterwards (the test is
    skipped, saying why, where no PostgreSQL answers)."""
    name = f"paybot_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {exc}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
