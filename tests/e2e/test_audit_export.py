"""The audit export through its real entry points: `/pay audit export` (its CSV in the person's
DM), `paybot audit export` (CSV or JSON lines), the formula a reason carried neutralised in every
CSV the bot writes, and 100,000 rows exported in bounded memory."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import create_async_engine

from bot.csvcells import neutralised
from bot.db.models import AuditEntry
from bot.domain import (
    Account,
    DailyTotals,
    MethodType,
    Money,
    PaymentKind,
    PortalAccount,
    Source,
)
from bot.overview import Report, ReportPeriod
from bot.processors.sandbox import SandboxSimulator
from bot.services.reports import report_csv
from bot.store import Store
from tests.conftest import Harness
from tests.e2e.test_cli import paybot
from tests.e2e.test_refunds import request_refund

FORMULA = '=HYPERLINK("http://x","y")'
ROOT = Path(__file__).parents[2]


def dm_files(harness: Harness, user: str) -> list[bytes]:
    dm = harness.fake.dm(user)
    return [
        f.content
        for f in harness.fake.files.values()
        if f.completed and f.channel_id == dm and f.content is not None
    ]


async def refund_with_formula(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("75.00")
    await request_refund(harness, staff, txn.id, FORMULA)


async def test_a_manager_gets_the_periods_csv_in_their_dm_with_the_formula_neutralised(
    harness: Harness,
) -> None:
    await refund_with_formula(harness)
    manager = await harness.user("meg", "manager")
    answer = await harness.slack.command(manager, "audit export 2026-11-01 to 2026-11-30")
    assert answer.status == 200 and harness.slack.answers[-1].seconds < 1.0
    assert "will arrive in your DM" in answer.json["text"]
    (content,) = await harness.fake.wait_for(
        lambda: dm_files(harness, manager) or None, timeout=20, what="the export in the DM"
    )
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    asked = [r for r in rows if r["action"] == "request_refund"]
    assert asked and asked[0]["reason"] == "'" + FORMULA
    assert asked[0]["actor_username"] == "sam"
    assert rows[0]["at"].endswith("+00:00")
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())
    comment = harness.fake.messages(harness.fake.dm(manager))[-1].text
    assert "2026-11-01 to 2026-11-30" in comment


async def test_staff_are_refused_and_bad_days_are_explained(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    refused = await harness.slack.command(staff, "audit export")
    assert refused.status == 200
    assert "manager" in refused.json["text"].lower(), refused.json
    assert dm_files(harness, staff) == []

    for typed, said in (
        ("audit export 2026-13-01", "`2026-13-01` is not a date"),
        ("audit export 2026-11-30 to 2026-11-01", "2026-11-30 is after 2026-11-01"),
        ("audit export 2026-11-01 to 2026-11-02 to 2026-11-03", "at most two days"),
        # 16 digits with dashes that pass the Luhn check: masked as a card number before the
        # command sees it, so the person is told to write `to` between the days.
        ("audit export 2026-11-01 2026-11-30", "put `to` between them"),
    ):
        answer = await harness.slack.command(manager, typed)
        assert answer.status == 200 and harness.slack.answers[-1].seconds < 1.0
        shown = str(answer.json["text"]).replace("\u02cb", "`")  # the error path's backticks
        assert said in shown, (typed, answer.json)
    assert dm_files(harness, manager) == []


async def test_the_cli_writes_csv_and_jsonl_jsonl_keeping_the_raw_value(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    """No bot runs meanwhile: the refund is asked for through the service the modal calls."""
    staff = PortalAccount("sam", "Sam", "sam@firm.com", "staff", True, "USAM")
    txn = await SandboxSimulator(store.sessions, store.services.clock).charge(
        amount=Money.parse("75.00"),
        method=MethodType.CARD,
        kind=PaymentKind.SALE,
        matter_id="MAT-1",
        account=Account.OPERATING,
        brand="visa",
        last4="4242",
        customer_name="Dana Client",
    )
    await store.services.refunds.request(staff, txn.id, FORMULA, Source.COMMAND)
    env = {"DATABASE_URL": database_url}
    out = tmp_path / "audit.jsonl"
    done = paybot(
        "audit", "export", "--from", "2026-11-16", "--to", "2026-11-16", "--format", "jsonl",
        "--output", str(out), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    (asked,) = [line for line in lines if line["action"] == "request_refund"]
    assert asked["reason"] == FORMULA  # JSON lines keep the value as stored
    assert isinstance(asked["after"], dict)

    printed = paybot("audit", "export", "--from", "2026-11-16", "--to", "2026-11-16", env=env)
    assert printed.returncode == 0, printed.stderr
    rows = list(csv.DictReader(io.StringIO(printed.stdout)))
    (row,) = [r for r in rows if r["action"] == "request_refund"]
    assert row["reason"] == "'" + FORMULA
    assert "audit entries, 2026-11-16 to 2026-11-16" in printed.stderr

    nothing = paybot("audit", "export", "--from", "2026-11-01", "--to", "2026-11-02", env=env)
    assert nothing.stdout.splitlines() == [",".join(_columns())]

    bad = paybot("audit", "export", "--from", "16/11/2026", env=env)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == (
        "paybot: The first day `16/11/2026` is not a date. Give days as YYYY-MM-DD, the first "
        "before the last, e.g. `2026-11-01 to 2026-11-30`."
    )


def _columns() -> tuple[str, ...]:
    from bot.services.audit_export import COLUMNS

    return COLUMNS


def test_the_report_csv_neutralises_what_the_processor_wrote() -> None:
    """`/pay report`'s CSV goes through the same writer: its one text from outside, the
    processor's currency, cannot run either; its own negative figures stay numbers."""
    day = date(2026, 11, 2)
    report = Report(
        ReportPeriod(day, day + timedelta(days=1), "a day"),
        (DailyTotals(day=day, currency=FORMULA, refunds=1, refunds_minor=500),),
        FORMULA,
        UTC,
    )
    rows = list(csv.reader(io.StringIO(report_csv(report).decode())))
    assert rows[1][1] == "'" + FORMULA
    assert rows[1][-1] == "-5.00"  # a plain number is never a formula


def test_every_dangerous_first_character_is_neutralised() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralised(f"{start}1+cmd|' /C calc'!A0") == f"'{start}1+cmd|' /C calc'!A0"
    assert neutralised("-12.50") == "-12.50" and neutralised("42") == "42"
    assert neutralised("Duplicate payment") == "Duplicate payment"
    assert neutralised(None) == ""


async def test_a_hundred_thousand_rows_export_in_bounded_memory(
    database_url: str, tmp_path: Path
) -> None:
    """A process's resident memory (its peak, ru_maxrss) after exporting 100,000 rows, against
    the same after exporting an empty period: the rows cost less than 20 MB."""
    engine = create_async_engine(database_url)
    first = datetime(2021, 1, 4, 15, 0, tzinfo=UTC)
    table: Table = AuditEntry.__table__  # type: ignore[assignment]
    async with engine.begin() as connection:
        for chunk in range(0, 100_000, 5_000):
            await connection.execute(
                insert(table),
                [
                    {
                        "at": first + timedelta(minutes=26 * n),
                        "actor_username": f"user{n % 40}",
                        "actor_slack_id": f"U{n % 40:08d}",
                        "actor_role": "staff",
                        "action": "request_refund",
                        "target_type": "transaction",
                        "target_id": f"txn_{n:020d}",
                        "outcome": "done",
                        "reason": f"Client asked for the refund of invoice {n} " + "x" * 120,
                        "source": "command",
                        "before": None,
                        "after": {"request": f"rr{n:030d}", "amount_minor": n},
                    }
                    for n in range(chunk, chunk + 5_000)
                ],
            )
    await engine.dispose()
    driver = tmp_path / "measure.py"
    driver.write_text(MEASURE)
    out = tmp_path / "audit.csv"
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "DATABASE_"))
    }
    measured = subprocess.run(
        [sys.executable, str(driver), database_url, str(out)],
        env=environment | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert measured.returncode == 0, measured.stderr[-3000:]
    empty_kb, full_kb = (int(n) for n in measured.stdout.split())
    with out.open() as written:
        lines = sum(1 for _ in written)
    assert lines == 1 + 100_000 + 2  # the header, the rows and the two exports' own audit rows
    growth_mb = (full_kb - empty_kb) / 1024
    print(f"resident memory grew {growth_mb:.1f} MB exporting 100,000 audit rows")
    assert growth_mb < 20, growth_mb


MEASURE = """
import os, resource, sys

os.environ["DATABASE_URL"] = sys.argv[1]
from bot.cli import main

def peak_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

code = main(["audit", "export", "--from", "2020-01-01", "--to", "2020-01-02",
             "--output", os.devnull])
assert code == 0
empty = peak_kb()
code = main(["audit", "export", "--from", "2021-01-01", "--to", "2099-12-31",
             "--output", sys.argv[2]])
assert code == 0
print(empty, peak_kb())
"""


async def test_the_export_streams_on_postgresql_too(tmp_path: Path) -> None:
    """asyncpg's server-side cursor, over more than one page of rows."""
    from bot.config import Settings
    from bot.store import open_store
    from tests.processes import postgres_database

    try:
        async with postgres_database() as url:
            store = await open_store(Settings(database_url=url))
            first = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
            table: Table = AuditEntry.__table__  # type: ignore[assignment]
            async with store.engine.begin() as connection:
                await connection.execute(
                    insert(table),
                    [
                        {
                            "at": first + timedelta(minutes=n),
                            "actor_username": "sam",
                            "action": "request_refund",
                            "outcome": "done",
                            "reason": FORMULA if n == 1234 else f"reason {n}",
                            "source": "command",
                        }
                        for n in range(2_500)
                    ],
                )
            await store.close()
            env = {"DATABASE_URL": url}
            days = ("--from", "2026-03-02", "--to", "2026-03-04")
            printed = paybot("audit", "export", *days, env=env)
            assert printed.returncode == 0, printed.stderr
            rows = list(csv.DictReader(io.StringIO(printed.stdout)))
            assert len(rows) == 2_500
            assert rows[1234]["reason"] == "'" + FORMULA
            assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
            lines = paybot("audit", "export", *days, "--format", "jsonl", env=env).stdout
            assert json.loads(lines.splitlines()[1234])["reason"] == FORMULA
    except OSError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {exc}")
