"""Which roles-table action every Slack entry point is: the map the gate (gate.py) authorizes by.

A subcommand, button, modal or event missing here is refused (deny by default), and a test walks
this map against every role, so a new entry point without a rule fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from bot.domain import Source
from bot.handlers import forms
from bot.ids import ActionId, CallbackId, EventName, Subcommand
from bot.pan import mask_pans
from bot.roles import ACTION_PERMISSION, Action, Permission

COMMANDS: dict[Subcommand, Action] = {
    Subcommand.HELP: Action.HELP,
    Subcommand.ME: Action.PROFILE,
    Subcommand.LOOKUP: Action.LOOKUP,
    Subcommand.REFUND: Action.REQUEST_REFUND,
    Subcommand.HISTORY: Action.HISTORY,
    Subcommand.DISPUTES: Action.DISPUTES,
    Subcommand.RETURNS: Action.RETURNS,
    Subcommand.WITHDRAWALS: Action.WITHDRAWALS,
    Subcommand.REPORT: Action.REPORT,
    Subcommand.AUDIT: Action.AUDIT,
    Subcommand.USERS: Action.MANAGE_USERS,
}

BUTTONS: dict[ActionId, Action] = {
    ActionId.REFUND_OPEN: Action.REQUEST_REFUND,
    ActionId.REFUND_APPROVE: Action.DECIDE_REFUND,
    ActionId.REFUND_REJECT: Action.DECIDE_REFUND,
    ActionId.REFUND_WITHDRAW: Action.REQUEST_REFUND,  # the requester's alone (the service says)
    ActionId.USERS_ADD: Action.MANAGE_USERS,
    ActionId.USERS_EDIT: Action.MANAGE_USERS,
    ActionId.USERS_TOGGLE: Action.MANAGE_USERS,
    ActionId.USERS_PAGE: Action.MANAGE_USERS,
    ActionId.AUDIT_PAGE: Action.AUDIT,
    ActionId.TRANSACTION_VIEW: Action.LOOKUP,
    ActionId.HISTORY_NEXT: Action.HISTORY,
    ActionId.HISTORY_PREVIOUS: Action.HISTORY,
    ActionId.HISTORY_COLUMNS: Action.HISTORY,
    ActionId.DISPUTE_LIST_NEXT: Action.DISPUTES,
    ActionId.DISPUTE_LIST_PREVIOUS: Action.DISPUTES,
    ActionId.RETURNS_NEXT: Action.RETURNS,
    ActionId.RETURNS_PREVIOUS: Action.RETURNS,
    ActionId.WITHDRAWALS_NEXT: Action.WITHDRAWALS,
    ActionId.WITHDRAWALS_PREVIOUS: Action.WITHDRAWALS,
    ActionId.WITHDRAWAL_PAYMENTS: Action.WITHDRAWALS,
    ActionId.HOME_REFRESH: Action.DASHBOARD,
    ActionId.HOME_HISTORY: Action.HISTORY,
    # The refunds panel is shown to those who may ask for refunds (see services/home.py).
    ActionId.HOME_REFUNDS: Action.REQUEST_REFUND,
    ActionId.HOME_DISPUTES: Action.DISPUTES,
    ActionId.HOME_RETURNS: Action.RETURNS,
    ActionId.HOME_WITHDRAWALS: Action.WITHDRAWALS,
    ActionId.DISPUTE_RESPOND: Action.DRAFT_DISPUTE_RESPONSE,
    ActionId.DISPUTE_ACCEPT: Action.ACCEPT_DISPUTE,
    ActionId.DISPUTE_RESPONSE_APPROVE: Action.DECIDE_DISPUTE_RESPONSE,
    ActionId.DISPUTE_RESPONSE_REJECT: Action.DECIDE_DISPUTE_RESPONSE,
    ActionId.CHECKLIST_TICK: Action.TICK_CHECKLIST,
    ActionId.DISPUTE_RESPONSE_WITHDRAW: Action.DRAFT_DISPUTE_RESPONSE,  # the drafter's alone
    ActionId.ACCEPTANCE_APPROVE: Action.ACCEPT_DISPUTE,
    ActionId.ACCEPTANCE_REJECT: Action.ACCEPT_DISPUTE,
    ActionId.ACCEPTANCE_WITHDRAW: Action.ACCEPT_DISPUTE,  # the requester's alone
}

MODALS: dict[CallbackId, Action] = {
    CallbackId.REFUND_REQUEST: Action.REQUEST_REFUND,
    CallbackId.REFUND_REJECT: Action.DECIDE_REFUND,
    CallbackId.ACCEPTANCE_REJECT: Action.ACCEPT_DISPUTE,
    CallbackId.USER_ADD: Action.MANAGE_USERS,
    CallbackId.USER_EDIT: Action.MANAGE_USERS,
    CallbackId.HISTORY_COLUMNS: Action.HISTORY,
    CallbackId.DISPUTE_RESPONSE: Action.DRAFT_DISPUTE_RESPONSE,
    CallbackId.DISPUTE_RESPONSE_REJECT: Action.DECIDE_DISPUTE_RESPONSE,
}

EVENTS: dict[EventName, Action] = {EventName.APP_HOME_OPENED: Action.DASHBOARD}


E = TypeVar("E", bound=StrEnum)


def member(enum: type[E], value: str) -> E | None:
    try:
        return enum(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Route:
    source: Source
    key: str
    action: Action | None  # None: no rule, so refused
    user_id: str | None
    target: str | None = None


def split_command(text: str) -> tuple[str, str]:
    """`lookup  txn_1` -> ("lookup", "txn_1"); an empty text is help."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return Subcommand.HELP.value, ""
    return parts[0].lower(), parts[1] if len(parts) > 1 else ""


def _target(text: str) -> str | None:
    """What a person typed or clicked, as the audit log may keep it: card numbers masked before
    it is cut to length (a cut number would no longer be recognised)."""
    return mask_pans(text)[:80] or None


def resolve(body: dict[str, Any]) -> Route | None:
    """The route of a request body, or None for bodies no person sent (nothing to authorize)."""
    if "command" in body:
        name, args = split_command(str(body.get("text") or ""))
        sub = member(Subcommand, name) or Subcommand.HELP
        return Route(Source.COMMAND, name, COMMANDS.get(sub), body.get("user_id"), _target(args))
    kind = body.get("type")
    user_id = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else None
    if kind == "block_actions":
        action = (body.get("actions") or [{}])[0]
        action_id = str(action.get("action_id", ""))
        button = member(ActionId, action_id)
        rule = BUTTONS.get(button) if button else None
        return Route(
            Source.BUTTON,
            action_id,
            rule,
            user_id,
            _target(forms.action_value(action)),
        )
    if kind in ("view_submission", "view_closed"):
        callback_id = str((body.get("view") or {}).get("callback_id", ""))
        modal = member(CallbackId, callback_id)
        return Route(Source.MODAL, callback_id, MODALS.get(modal) if modal else None, user_id)
    if kind == "event_callback":
        event = body.get("event") or {}
        name = str(event.get("type", ""))
        known = member(EventName, name)
        return Route(Source.EVENT, name, EVENTS.get(known) if known else None, event.get("user"))
    if kind in ("url_verification", "ssl_check"):
        return None
    return Route(Source.EVENT, str(kind), None, user_id)


def only_reads(route: Route | None) -> bool:
    """A slash command that only shows something (a lookup, a listing, help), or a button that
    only shows a payment or turns a list's page: answering a repeat of it again changes nothing,
    so it needs no delivery key (a committed write per request). Slack never retries a slash
    command or a click, and a replay needs the signed request within its five minutes; the
    lookup is audited each time it is answered, a repeat included."""
    if route is None or route.action is None:
        return False
    if route.source is Source.BUTTON:
        return route.key in READ_BUTTONS
    return route.source is Source.COMMAND and ACTION_PERMISSION[route.action] is Permission.VIEW


# Buttons that show and change nothing (a modal opener is not one: its trigger is single-use).
READ_BUTTONS = frozenset(
    {
        ActionId.TRANSACTION_VIEW,
        ActionId.HISTORY_NEXT,
        ActionId.HISTORY_PREVIOUS,
        ActionId.DISPUTE_LIST_NEXT,
        ActionId.DISPUTE_LIST_PREVIOUS,
        ActionId.RETURNS_NEXT,
        ActionId.RETURNS_PREVIOUS,
        ActionId.WITHDRAWALS_NEXT,
        ActionId.WITHDRAWALS_PREVIOUS,
    }
)
