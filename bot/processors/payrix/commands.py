"""The `paybot payrix …` commands: what a firm on Payrix sets up and checks from a terminal.

Kept beside the adapter they drive, out of bot/cli.py, which only parses and dispatches."""

from __future__ import annotations

import argparse
import json

from bot.config import Settings
from bot.errors import PaybotError


async def alerts(args: argparse.Namespace, settings: Settings) -> int:
    """The Payrix /alerts setup that sends alerts to this bot: printed, or made with --apply."""
    from bot.processors import payrix
    from bot.processors.payrix import alerts as payrix_alerts

    url = args.url.rstrip("/") + "/webhooks/payrix"
    secret = settings.payrix_alert_secret
    login = args.login or "<the t1_log_… id of the API key's login>"
    if args.apply and (secret is None or not args.login):
        raise PaybotError("--apply needs PAYRIX_ALERT_SECRET set and --login t1_log_…")
    shown = (
        "<PAYRIX_ALERT_SECRET>" if secret is None or not args.apply else secret.get_secret_value()
    )
    setup = payrix_alerts.configuration(url, settings.payrix_alert_header, shown, login)
    if not args.apply:
        print(json.dumps(setup, indent=2))
        return 0
    gateway = payrix.create(settings)
    try:
        made = await payrix_alerts.apply(gateway.client, setup)
    finally:
        await gateway.close()
    made.get("alertAction", {}).pop("headerValue", None)
    print(json.dumps(made, indent=2, default=str))
    return 0


async def batches(args: argparse.Namespace, settings: Settings) -> int:
    """Settlement batches and the transactions in each: what the payouts are made of."""
    from bot.processors import payrix

    gateway = payrix.create(settings)
    try:
        page = await gateway.list_batches(limit=args.limit)
    finally:
        await gateway.close()
    for batch in page.items:
        print(f"{batch.id}  {batch.status.value:<8} {batch.amount}  {batch.created_at:%Y-%m-%d}")
        for txn_id in batch.transaction_ids:
            print(f"    {txn_id}")
    return 0
