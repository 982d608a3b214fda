"""Posting a report to the conversation it was asked in: the summary, then the chart and the CSV
in one upload (files.getUploadURLExternal + files.completeUploadExternal, via files_upload_v2)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.reports import report_blocks, report_summary_text
from bot.errors import InvalidInput
from bot.overview import Report
from bot.services.reports import report_csv

NOT_IN_CHANNEL = (
    "Paybot is not in this conversation, so it cannot post the report here: invite it "
    "(`/invite @paybot`) or ask again in a DM with Paybot."
)


async def post_report(client: AsyncWebClient, channel_id: str, report: Report) -> None:
    from bot.charts import report_chart  # matplotlib: ~40 MB, loaded by the first report only

    chart = await asyncio.to_thread(report_chart, report)  # matplotlib is CPU work: off the loop
    rows = report_csv(report)
    try:
        await client.chat_postMessage(
            channel=channel_id, blocks=report_blocks(report), text=report_summary_text(report)
        )
    except SlackApiError as error:
        if error.response.get("error") in ("not_in_channel", "channel_not_found"):
            raise InvalidInput(NOT_IN_CHANNEL) from None
        raise
    last_day = report.period.end - timedelta(days=1)
    name = f"paybot-report-{report.period.start}-to-{last_day}"
    await client.files_upload_v2(
        channel=channel_id,
        initial_comment=f"Daily volume chart and daily figures, {report.period.label}.",
        file_uploads=[
            {"file": chart, "filename": f"{name}.png", "title": "Daily volume"},
            {"file": rows, "filename": f"{name}.csv", "title": "Daily figures (CSV)"},
        ],
    )
