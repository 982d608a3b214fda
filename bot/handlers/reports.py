"""`/pay report [7d|30d|90d|month|YYYY-MM]` (managers and admins): acknowledged at once, then the
summary, the chart and the CSV are posted to the conversation the command came from."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.domain import Source
from bot.handlers.commands import Command, Router
from bot.ids import Subcommand
from bot.services.container import Services
from bot.slack.reports import post_report


def register(app: AsyncApp, services: Services, router: Router) -> None:
    async def report(cmd: Command) -> None:
        period = services.reports.period(cmd.args)  # a bad period is answered in the ack
        await cmd.ack(text=f"Preparing the report for {period.label}…", response_type="ephemeral")
        built = await services.reports.build(cmd.actor, period, Source.COMMAND)
        await post_report(cmd.client, str(cmd.body.get("channel_id") or ""), built)

    router.add(Subcommand.REPORT, report)
