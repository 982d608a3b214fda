"""`/pay help` and `/pay me`: both generated from the roles table, so they cannot drift from it."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, HeaderBlock, SectionBlock

from bot.blocks.text import field, inline, note, paragraph
from bot.domain import PortalAccount
from bot.pan import mask_pans
from bot.roles import PERMISSIONS, Action, Role, allowed

USAGE: dict[Action, str] = {
    Action.LOOKUP: "`/pay lookup <exact id>`: one transaction, by its full id",
    Action.HISTORY: "`/pay history [sales|authorizations|refunds] [sort:newest|oldest|amount] [search]`",
    Action.DISPUTES: "`/pay disputes [open|all]`: chargebacks and their deadlines",
    Action.RETURNS: "`/pay returns`: returned (ACH) payments",
    Action.WITHDRAWALS: "`/pay withdrawals`: balance and settlements to the bank",
    Action.PROFILE: "`/pay me`: your portal profile and what your role may do",
    Action.REQUEST_REFUND: "`/pay refund <exact id>`: ask for a full refund, with a reason",
    Action.REPORT: "`/pay report [7d|30d|90d|month|YYYY-MM]`: summary, chart and CSV",
    Action.AUDIT: (
        "`/pay audit [transaction id | username]`: the audit log; "
        "`/pay audit export [first day] [to last day]`: its CSV, to your DM"
    ),
    Action.MANAGE_USERS: "`/pay users [search]`: portal users and roles",
    Action.HELP: "`/pay help`: this list",
}


def help_blocks(actor: PortalAccount, *, unknown: str | None = None) -> list[Block]:
    """Only what the caller's role may do."""
    role = Role(actor.role)
    lines = [text for action, text in USAGE.items() if allowed(role, action)]
    blocks: list[Block] = []
    if unknown:
        blocks.append(
            paragraph(
                f"`{inline(mask_pans(unknown)[:50])}` is not a `/pay` command. Here is what you can do:"
            )
        )
    blocks.append(HeaderBlock(text="Paybot: the Payments Portal in Slack"))
    blocks.append(paragraph("\n".join(f"• {line}" for line in lines)))
    blocks.append(note(f"Your role: *{role.value}*. Ids are exact: partial ids are never matched."))
    return blocks


def profile_blocks(actor: PortalAccount) -> list[Block]:
    role = Role(actor.role)
    may = [rule.description for rule in PERMISSIONS.values() if role in rule.roles]
    return [
        HeaderBlock(text=f"Portal user {actor.username}"),
        SectionBlock(
            fields=[
                field("Username", inline(actor.username)),
                field("Full name", inline(actor.full_name)),
                field("E-mail", inline(actor.email)),
                field("Role", role.value),
                field("Status", "Active" if actor.active else "Inactive"),
            ]
        ),
        paragraph("*Your role may*\n" + "\n".join(f"• {m}" for m in may)),
    ]
