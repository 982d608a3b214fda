"""The one renderer for user and processor text, and the text rules behind it."""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import UTC, datetime
from typing import Any

from bot.blocks import notices
from bot.blocks.disputes import withdrawal_return_message, withdrawal_return_text
from bot.blocks.text import escape, inline, quote
from bot.domain import Notice
from bot.handlers.gate import clean_typed
from bot.ids import NoticeKind
from bot.usertext import visible


def test_every_line_of_multi_line_text_is_quoted() -> None:
    shown = quote("Overpaid\n*Status:* ✅ Approved by Mia Manager\n\n```\nx")
    assert shown.split("\n") == [
        ">Overpaid",
        ">*Status:* ✅ Approved by Mia Manager",
        ">",
        ">\u02cb\u02cb\u02cb",
        ">x",
    ]
    assert quote(None) == ">" and quote("") == ">"


def test_one_line_text_cannot_start_a_line_of_its_own() -> None:
    assert inline("R01\n*Status:* approved") == "R01 *Status:* approved"
    assert "\n" not in inline("a\r\nb\rc")


def test_mentions_links_controls_and_card_numbers() -> None:
    for render in (escape, inline, quote):
        shown = render(
            "<!channel> <@U1> <https://evil.test|Approve> & 4111.1111.1111.1111\x07\u202e"
        )
        assert "<" not in shown and ">" not in shown.lstrip(">")
        assert "&lt;!channel&gt;" in shown and "&amp;" in shown
        assert "[Visa •••• 1111]" in shown and "\x07" not in shown and "\u202e" not in shown


def test_a_text_of_nothing_visible_is_empty() -> None:
    for blank in ("", "   ", "\u200b\u200b\u2800", "\u202e\u2066 \u3164\n\t", "\x00\x07"):
        assert visible(blank) == "", repr(blank)
    assert visible("  Paid \u202etwice\u202c ") == "Paid twice"


def test_every_format_character_is_removed() -> None:
    """Tag characters, musical and shorthand format controls and every other Cf character: a
    reason of only those is no reason, and none is kept inside one."""
    hidden = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    assert visible("".join(hidden)) == ""
    for blank in ("\U000e0020\U000e0001", "\U0001d173\U0001d17a", "\U0001bca0\U0001bca3 \u2029"):
        assert visible(blank) == "", repr(blank)
    assert visible("Paid" + "".join(hidden) + " twice") == "Paid twice"


def test_chosen_options_are_cleaned_like_typed_values() -> None:
    option = {"text": {"type": "plain_text", "text": "4111.1111.1111.1111"}, "value": "x\u202e"}
    body: dict[str, Any] = {
        "actions": [{"selected_option": dict(option, text=dict(option["text"]))}],
        "view": {
            "state": {
                "values": {
                    "b": {"pick": {"selected_options": [{"value": "4111 1111 1111 1111 123"}]}}
                }
            }
        },
    }
    clean_typed(body)
    chosen = body["actions"][0]["selected_option"]
    assert chosen == {"text": {"type": "plain_text", "text": "[Visa •••• 1111]"}, "value": "x"}
    picked = body["view"]["state"]["values"]["b"]["pick"]["selected_options"][0]
    assert picked == {"value": "[Visa •••• 1111]"}


def test_a_returned_payout_is_told_in_the_processors_words_escaped() -> None:
    hostile = "<!channel> <https://evil.test|Approve>\n*Status:* ok"
    text = withdrawal_return_text(hostile, "1.00 <!here>", hostile, "unknown")
    assert "<" not in text and "\n" not in text and "&lt;!channel&gt;" in text
    blocks = withdrawal_return_message(hostile, "1.00 <!here>", hostile, "x")
    mrkdwn = [
        b.to_dict()["text"]["text"] for b in blocks if b.to_dict()["text"]["type"] == "mrkdwn"
    ]
    assert mrkdwn and not any("<" in text for text in mrkdwn), mrkdwn


def test_a_returned_payouts_processor_text_pings_nobody() -> None:
    hostile = "<!channel> <https://evil.test|Approve> *R02*\nhi"
    notice = Notice(
        NoticeKind.WITHDRAWAL_RETURNED,
        "wd_<!here>",
        {"data": {"code": hostile, "amount_minor": 350000, "currency": "USD<!everyone>"}},
        datetime(2026, 12, 6, tzinfo=UTC),
    )
    blocks, text = notices.render(notice)
    # mrkdwn is where a mention or link would work (a header's plain_text shows it as typed).
    mrkdwn = [b["text"]["text"] for b in (x.to_dict() for x in blocks) if b["type"] == "section"]
    shown = text + json.dumps(mrkdwn)
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<https://"):
        assert ping not in shown, shown
    assert "&lt;!channel&gt;" in text and "\n" not in text
