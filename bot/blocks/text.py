"""Text helpers every builder uses: the one renderer for user and processor text (escaped,
masked, quoted line by line), and one way to write dates and money."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.usertext import clean

SECTION_TEXT_LIMIT = 3000


def escape(text: str | None) -> str:
    """User or processor text for mrkdwn: cleaned (card numbers masked, control and
    bidirectional characters removed), `&`, `<`, `>` escaped so `<!channel>` or a link pings and
    points nowhere, and backticks shown as a modifier grave accent (U+02CB) so no code span or fence opens across lines
    (bold, italic and strike end with their line in mrkdwn)."""
    return _escaped(text) if text else ""


def inline(text: str | None) -> str:
    """The same for one line (a field, a list item, a title): line breaks become spaces, so a
    processor's reason cannot start a line of its own."""
    return _escaped(text).replace("\n", " ").strip() if text else ""


def quote(text: str | None) -> str:
    """User or processor text of any length as a mrkdwn quote: every line starts with `>`, so
    no later line of a reason can pass for the bot's own (`*Status:* ✅ Approved`)."""
    return "\n".join(f">{line}" for line in _lines(text)) or ">"


def _lines(text: str | None) -> list[str]:
    return _escaped(text).split("\n") if text else []


def _escaped(text: str) -> str:
    safe = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return safe.replace("`", _GRAVE)  # a backtick of theirs opens no code span


_GRAVE = "\u02cb"


def clip(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """A date and time each reader sees in their own zone (Slack's date formatting), with the
    text in ``zone`` (the firm's; else the moment's own) for clients that cannot format it."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone) if zone else moment
    # isoformat, not strftime: the same "2026-03-04 09:30" in a fifth of the time (strftime
    # parses its format on every call, and dates are on every card).
    fallback = f"{local.isoformat(' ', 'minutes')[:16]} {local.tzname() or ''}".rstrip()
    return _slack_date(moment, "{date_short_pretty} {time}", fallback)


def day(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """A day, the same way: the reader's own day of the moment, the firm's in the fallback."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone) if zone else moment
    return _slack_date(moment, "{date_short_pretty}", local.date().isoformat())


def business_day(on: date) -> str:
    """A calendar day the firm names (a refund's expected day, a firm's date, a debit's cover
    day): already the firm's, so written out, with its weekday, rather than converted."""
    return f"{on:%a %Y-%m-%d}"


def _slack_date(moment: datetime, tokens: str, fallback: str) -> str:
    """``<!date^UNIX^TOKENS|FALLBACK>``: Slack's date formatting (docs.slack.dev, "Formatting
    text for app surfaces", date formatting)."""
    return f"<!date^{int(moment.timestamp())}^{tokens}|{fallback}>"


def field(label: str, value: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(f"*{label}*\n{value}", 2000))


def paragraph(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text)))


def note(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text))])
