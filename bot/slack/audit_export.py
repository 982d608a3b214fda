"""Sending an audit export to the person who asked, in their DM with Paybot: written to a
temporary file as the rows are read, then uploaded (files.getUploadURLExternal +
files.completeUploadExternal, via files_upload_v2) into the DM conversations.open gives."""

from __future__ import annotations

import tempfile

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import PortalAccount, Source
from bot.services.audit_export import AuditExport, ExportFormat, ExportPeriod


async def send_audit_export(
    client: AsyncWebClient,
    export: AuditExport,
    actor: PortalAccount,
    period: ExportPeriod,
    slack_user_id: str,
) -> int:
    """The count of rows sent."""
    opened = await client.conversations_open(users=slack_user_id)
    channel = str(opened["channel"]["id"])
    with tempfile.NamedTemporaryFile("w+", suffix=".csv", newline="", encoding="utf-8") as out:
        count = await export.write(actor, period, ExportFormat.CSV, out, Source.COMMAND)
        out.flush()
        name = f"paybot-audit-{period.first}-to-{period.last}.csv"
        await client.files_upload_v2(
            channel=channel,
            file=out.name,
            filename=name,
            title=f"Audit log, {period.label}",
            initial_comment=(
                f"The audit log for {period.label} (days in {period.zone}): {count} entries."
            ),
        )
    return count
