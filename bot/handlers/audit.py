"""`/pay audit [transaction id | username]` and `/pay audit export [first day] [to last day]`
(managers and admins): the export is acknowledged at once and its CSV sent to the person's DM."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.audit import audit_page
from bot.handlers import forms
from bot.handlers.commands import Command, Router
from bot.ids import ActionId, Subcommand
from bot.services.container import Services
from bot.slack.audit_export import send_audit_export

EXPORT = "export"


class AuditPage(BaseModel):
    subject: str = Field(default="", max_length=200)
    before: int | None = Field(default=None, ge=0)


def register(app: AsyncApp, services: Services, router: Router) -> None:
    async def audit(cmd: Command) -> None:
        word, _, rest = cmd.args.strip().partition(" ")
        if word.casefold() == EXPORT:
            await export(cmd, rest)
            return
        subject = cmd.args.strip() or None
        page = await services.audit.entries(subject=subject)
        await cmd.answer(audit_page(page, subject, services.settings.zone), "Audit log")

    async def export(cmd: Command, args: str) -> None:
        period = services.audit_export.period_of(args)  # bad days are answered in the ack
        await cmd.ack(
            text=f"Exporting the audit log for {period.label}: the CSV will arrive in your DM "
            "with Paybot.",
            response_type="ephemeral",
        )
        user = str(cmd.body.get("user_id") or "")
        await send_audit_export(cmd.client, services.audit_export, cmd.actor, period, user)

    router.add(Subcommand.AUDIT, audit)

    @app.action(ActionId.AUDIT_PAGE)
    async def older(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        wanted = forms.button_value(AuditPage, forms.action_value(action))
        subject = wanted.subject or None
        page = await services.audit.entries(subject=subject, before_id=wanted.before)
        blocks = audit_page(page, subject, services.settings.zone)
        await respond(blocks=blocks, replace_original=True, text="Audit log")
