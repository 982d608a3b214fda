"""`/pay report`: the summary message that the chart and the CSV follow."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, HeaderBlock, SectionBlock

from bot.blocks.text import field, note
from bot.overview import Report


def percent(rate: float) -> str:
    return f"{rate * 100:.2f}%"


def report_blocks(report: Report) -> list[Block]:
    return [
        HeaderBlock(text=f"Payments report: {report.period.label}"[:150]),
        SectionBlock(
            fields=[
                field("Volume", f"{report.volume} ({report.payments} payments)"),
                field("Net settled", str(report.net_settled)),
                field(
                    "Refunds",
                    f"{report.refunded} ({report.refunds}), {percent(report.refund_rate)} of volume",
                ),
                field(
                    "Disputes",
                    f"{report.disputed} ({report.disputes}), {percent(report.dispute_rate)} of "
                    f"payments; lost or accepted {report.disputes_lost}",
                ),
                field(
                    "Returns",
                    f"{report.returned} ({report.returns}), {percent(report.return_rate)} of payments",
                ),
                field("Not settled yet", str(report.pending)),
            ]
        ),
        note(
            f"Days in {report.zone}. Net settled: settled payments less refunds, returns, and "
            "disputes lost or accepted. Dispute and return rates count payments; the refund rate "
            "compares amounts."
        ),
    ]


def report_summary_text(report: Report) -> str:
    """The notification text (and what screen readers say) for the summary message."""
    return (
        f"Payments report, {report.period.label}: volume {report.volume}, "
        f"net settled {report.net_settled}"
    )
