"""Every benchmark in one run (`make bench`), each printing its figures, then a summary against
the targets. Loopback only; the seeded sandbox databases are kept in bench/.cache/ (the first run
seeds them: a few minutes for the million rows), so later runs take about ten minutes.

    .venv/bin/python bench/run.py [--quick]

--quick runs smaller loads (for trying the scripts, not for quoting).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import answers
import notifications
import startup
import webhooks
from support import machine, run, seeded_database

HISTORY_TRANSACTIONS = 1_000_000
HERE = Path(__file__).resolve().parent


async def history(transactions: int, repeats: int) -> dict[str, float]:
    """bench/history.py on a private copy of the cached database; its page and search p99s."""
    source = await seeded_database(transactions)
    with tempfile.TemporaryDirectory(prefix="paybot-bench-") as folder:
        copy = Path(folder) / "history.db"
        shutil.copyfile(source, copy)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "history.py"),
            "--database",
            str(copy),
            "--repeats",
            str(repeats),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        pages: dict[str, float] = {}
        in_history = False
        async for raw in process.stdout:
            line = raw.decode().rstrip()
            print(line)
            if line.startswith("/pay history"):
                in_history = True
            elif not line.strip():
                in_history = False
            found = re.search(r"^\s+(.+?)\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", line)
            if found and in_history:
                pages[found.group(1)] = float(found.group(3))
        if await process.wait() != 0:
            raise RuntimeError("bench/history.py failed")
    return pages


def verdict(ok: bool | None) -> str:
    """None: a figure shown for what it explains, with no target of its own."""
    if ok is None:
        return ""
    return "met" if ok else "NOT met"


async def main(quick: bool) -> None:
    started = time.monotonic()
    print(f"Paybot benchmarks on {machine()}\n")
    requests, rounds = (200, 2) if quick else (1000, 10)
    lookups = await answers.main(requests, 20, rounds)
    print()
    # The several-process deployment: the same load with the bot on PostgreSQL (127.0.0.1:5432).
    on_postgres = await answers.main(
        requests, 20, rounds, kind="postgresql", transactions=20_000 if quick else 100_000
    )
    print()
    first_start = await startup.main(100_000 if quick else 1_000_000, 1 if quick else 3)
    print()
    pages = await history(100_000 if quick else HISTORY_TRANSACTIONS, 20 if quick else 100)
    print()
    intake = await webhooks.main(300 if quick else 1000, 50)
    print()
    told = await notifications.main(200 if quick else 1000, 100 if quick else 1000)
    burst, dms = told["burst"], told["dms"]
    worst_page = max(pages.values())

    print(f"\nSummary ({time.monotonic() - started:.0f} s in all):")
    rows = [
        row
        for name, figures in (("SQLite", lookups), ("PostgreSQL", on_postgres))
        for row in (
            (
                f"{name}: answer p50 / floor",
                f"{figures['ratio_p50']:.2f}x ({figures['bot_p50']:.1f} / "
                f"{figures['floor_p50']:.1f} ms)",
                f"≤ {answers.TARGET_P50}x",
                figures["ratio_p50"] <= answers.TARGET_P50,
            ),
            (
                f"{name}: answer p99 / floor",
                f"{figures['ratio_p99']:.2f}x ({figures['bot_p99']:.1f} / "
                f"{figures['floor_p99']:.1f} ms)",
                f"≤ {answers.TARGET_P99}x",
                figures["ratio_p99"] <= answers.TARGET_P99,
            ),
            (
                f"{name}: CPU an answer / floor",
                f"{figures['ratio_cpu']:.2f}x ({figures['bot_cpu_ms']:.2f} / "
                f"{figures['floor_cpu_ms']:.2f} ms)",
                f"≤ {answers.TARGET_CPU}x",
                figures["ratio_cpu"] <= answers.TARGET_CPU,
            ),
            (
                f"{name}: resident after the run",
                f"{figures['after_mb']:.0f} MB (idle {figures['idle_mb']:.0f} MB)",
                f"< {answers.TARGET_MB} MB",
                figures["after_mb"] < answers.TARGET_MB,
            ),
        )
    ] + [
        (
            "first start: big minus empty",
            f"{first_start['extra_s']:+.2f} s ({first_start['big_s']:.2f} / {first_start['empty_s']:.2f} s)",
            f"≤ {startup.TARGET_S} s",
            first_start["extra_s"] <= startup.TARGET_S,
        ),
        (
            "history page p99 (worst of all)",
            f"{worst_page:.1f} ms",
            "< 50 ms",
            worst_page < 50,
        ),
        ("webhook 2xx p99", f"{intake['p99']:.1f} ms", "< 20 ms", intake["p99"] < 20),
        (
            "burst fully visible",
            f"{burst['visible_s']:.1f} s, {burst['posts_ok']:.0f} messages",
            "< 60 s",
            bool(burst["complete"]) and burst["visible_s"] < 60,
        ),
        (
            "refund DMs all sent",
            f"{dms['told_s']:.1f} s",
            "< 240 s",
            bool(dms["complete"]) and dms["told_s"] < 240,
        ),
        (
            "429s honoured",
            f"{burst['early'] + dms['early']:.0f} early calls, "
            f"{burst['posts_429'] + dms['posts_429']:.0f} 429s",
            "0 early",
            burst["early"] + dms["early"] == 0,
        ),
    ]
    for name, figure, target, ok in rows:
        print(f"  {name:<32} {figure:<34} target {target:<9} {verdict(ok)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller loads, to try the scripts")
    run(main(parser.parse_args().quick))
