"""The last two dates that fell back to UTC text: the dashboard's "asked by" day of a refund and
a dispute's "respond by" in its status reply are the firm's days in the fallback of Slack's date
formatting, like every other date the bot writes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from bot.blocks.home import home_view, refund_work_blocks
from bot.blocks.notices import render
from bot.domain import DisputeStatus, Notice
from bot.ids import NoticeKind
from tests.unit import block_samples as s

# 23:30 on 30 November in New York is 04:30 on 1 December in UTC.
LATE = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
SLACK_DATE = f"<!date^{int(LATE.timestamp())}^{{date_short_pretty}}|2026-11-30>"


def test_the_dashboard_says_the_firms_day_a_refund_was_asked_for() -> None:
    request = replace(s.REQUEST, created_at=LATE)
    work = replace(s.WORK, awaiting_approval=(request,), at_processor=())
    board = replace(s.BOARD, as_of=LATE.astimezone(s.NEW_YORK), refunds=work)
    shown = json.dumps(home_view(board, {}).to_dict(), ensure_ascii=False)
    assert f"asked by {request.requester_username} {SLACK_DATE}" in shown
    listed = json.dumps([b.to_dict() for b in refund_work_blocks(work, {}, s.NEW_YORK)])
    assert SLACK_DATE in listed and "|2026-12-01>" not in listed


def test_a_disputes_status_reply_says_the_firms_day_to_respond_by() -> None:
    dispute = replace(s.DISPUTE, status=DisputeStatus.NEEDS_RESPONSE, respond_by=LATE)
    for kind, payload in (
        (NoticeKind.DISPUTE_UPDATED, {}),
        (NoticeKind.DISPUTE_ACCEPTED, {"by": "UMEG"}),
    ):
        notice = Notice(kind, dispute.id, payload, LATE.astimezone(s.NEW_YORK), dispute=dispute)
        _, text = render(notice)
        assert f"respond by {SLACK_DATE}" in text, text
