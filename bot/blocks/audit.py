"""`/pay audit`: the latest audit entries, newest first, paged."""

from __future__ import annotations

import json
from datetime import tzinfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, HeaderBlock

from bot.blocks.text import inline, note, paragraph, when
from bot.domain import AuditLine, AuditPage
from bot.ids import ActionId

OUTCOME_MARK = {"done": "✅", "denied": "⛔", "failed": "⚠️"}


def _line(entry: AuditLine, zone: tzinfo | None) -> str:
    who = inline(entry.actor_username or entry.actor_slack_id or "unknown")
    role = f" ({entry.actor_role})" if entry.actor_role else ""
    target = f" `{inline(entry.target_id)}`" if entry.target_id else ""
    reason = f"\n    _{inline(entry.reason)}_" if entry.reason else ""
    change = ""
    if entry.before is not None or entry.after is not None:
        change = f"\n    {inline(json.dumps(entry.before))} → {inline(json.dumps(entry.after))}"
    mark = OUTCOME_MARK.get(entry.outcome, "")
    return (
        f"{mark} {when(entry.at, zone)} *{who}*{role} {entry.action.replace('_', ' ')}{target}: "
        f"{entry.outcome} via {entry.source}{reason}{change}"
    )


def audit_page(page: AuditPage, subject: str | None, zone: tzinfo | None = None) -> list[Block]:
    title = f"Audit log: {subject}" if subject else "Audit log"
    blocks: list[Block] = [HeaderBlock(text=title[:150])]
    if not page.lines:
        blocks.append(paragraph("No audit entries."))
    text = ""
    for entry in page.lines:
        line = _line(entry, zone)
        if len(text) + len(line) > 2800:
            blocks.append(paragraph(text))
            text = ""
        text += line + "\n"
    if text:
        blocks.append(paragraph(text))
    if page.next_before_id is not None:
        value = json.dumps({"subject": subject or "", "before": page.next_before_id})
        blocks.append(
            ActionsBlock(
                elements=[ButtonElement(text="Older", action_id=ActionId.AUDIT_PAGE, value=value)]
            )
        )
    blocks.append(note("Entries are append-only and cannot be changed or removed."))
    return blocks
