"""`paybot audit export`: the audit log of a period for the firm's bar auditor, to standard
output or a file, written as it is read (see services/audit_export.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.domain import Source


async def cmd_audit_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.audit_export import ExportFormat
    from bot.store import open_store

    store = await open_store(settings)
    try:
        export = store.services.audit_export
        period = export.period(args.first, args.last)  # a bad day stops here, nothing written
        form = ExportFormat(args.format)
        if args.output is None:
            count = await export.write(None, period, form, sys.stdout, Source.CLI)
            sys.stdout.flush()
        else:
            with args.output.open("w", newline="", encoding="utf-8") as out:
                count = await export.write(None, period, form, out, Source.CLI)
    finally:
        await store.close()
    print(f"{count} audit entries, {period.label} ({period.zone})", file=sys.stderr)
    return 0


def add_audit_commands(sub: Any) -> None:
    """``sub``: the `paybot` parser's subparsers."""
    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit", required=True
    )
    export = audit.add_parser(
        "export", help="the audit log of a period, for the firm's auditor (streamed)"
    )
    export.add_argument(
        "--from", dest="first", default=None, help="first day, YYYY-MM-DD (default: 30 days back)"
    )
    export.add_argument(
        "--to", dest="last", default=None, help="last day, YYYY-MM-DD (default: today)"
    )
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument(
        "--output", type=Path, default=None, help="a file to write (default: standard output)"
    )
    export.set_defaults(run=cmd_audit_export)
