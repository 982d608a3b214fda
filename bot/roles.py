"""Portal roles and what each may do: the one table behind every check, `/pay help` and the README."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    STAFF = "staff"
    MANAGER = "manager"
    ADMIN = "admin"


class Permission(StrEnum):
    VIEW = "view"
    REQUEST = "request"
    DECIDE = "decide"
    BOOKKEEPING = "bookkeeping"
    REPORT = "report"
    MANAGE_USERS = "manage_users"


@dataclass(frozen=True)
class Rule:
    description: str
    roles: frozenset[Role]


_ALL = frozenset(Role)
_STAFF_UP = frozenset({Role.STAFF, Role.MANAGER, Role.ADMIN})
_MANAGER_UP = frozenset({Role.MANAGER, Role.ADMIN})

PERMISSIONS: dict[Permission, Rule] = {
    Permission.VIEW: Rule("look up, history, disputes, returns, withdrawals, dashboard", _ALL),
    Permission.REQUEST: Rule("request a refund; draft a dispute response", _STAFF_UP),
    Permission.DECIDE: Rule(
        "approve or reject refunds and dispute responses; accept a dispute", _MANAGER_UP
    ),
    Permission.REPORT: Rule("reports, audit log and its export", _MANAGER_UP),
    Permission.BOOKKEEPING: Rule(
        "tick bookkeeping checklists (after a refund, covering a trust debit)", _STAFF_UP
    ),
    Permission.MANAGE_USERS: Rule("manage portal users", frozenset({Role.ADMIN})),
}


class Action(StrEnum):
    """Everything a person can ask of the bot; each maps to exactly one permission."""

    HELP = "help"
    PROFILE = "profile"
    LOOKUP = "lookup"
    HISTORY = "history"
    DISPUTES = "disputes"
    RETURNS = "returns"
    WITHDRAWALS = "withdrawals"
    DASHBOARD = "dashboard"
    REQUEST_REFUND = "request_refund"
    DRAFT_DISPUTE_RESPONSE = "draft_dispute_response"
    DECIDE_REFUND = "decide_refund"
    DECIDE_DISPUTE_RESPONSE = "decide_dispute_response"
    ACCEPT_DISPUTE = "accept_dispute"
    TICK_CHECKLIST = "tick_checklist"
    REPORT = "report"
    AUDIT = "audit"
    MANAGE_USERS = "manage_users"


ACTION_PERMISSION: dict[Action, Permission] = {
    Action.HELP: Permission.VIEW,
    Action.PROFILE: Permission.VIEW,
    Action.LOOKUP: Permission.VIEW,
    Action.HISTORY: Permission.VIEW,
    Action.DISPUTES: Permission.VIEW,
    Action.RETURNS: Permission.VIEW,
    Action.WITHDRAWALS: Permission.VIEW,
    Action.DASHBOARD: Permission.VIEW,
    Action.REQUEST_REFUND: Permission.REQUEST,
    Action.DRAFT_DISPUTE_RESPONSE: Permission.REQUEST,
    Action.DECIDE_REFUND: Permission.DECIDE,
    Action.DECIDE_DISPUTE_RESPONSE: Permission.DECIDE,
    Action.ACCEPT_DISPUTE: Permission.DECIDE,
    Action.TICK_CHECKLIST: Permission.BOOKKEEPING,
    Action.REPORT: Permission.REPORT,
    Action.AUDIT: Permission.REPORT,
    Action.MANAGE_USERS: Permission.MANAGE_USERS,
}


def allowed(role: Role, action: Action) -> bool:
    return role in PERMISSIONS[ACTION_PERMISSION[action]].roles


def lowest_role(action: Action) -> Role:
    """The least role that may do ``action``: what a refusal tells the person to ask for."""
    roles = PERMISSIONS[ACTION_PERMISSION[action]].roles
    return next(role for role in Role if role in roles)


def roles_table_markdown() -> str:
    """The table as Markdown, for the README (a test keeps the README in step)."""
    header = "| action | " + " | ".join(role.value for role in Role) + " |"
    lines = [header, "|---|" + "---|" * len(Role)]
    for rule in PERMISSIONS.values():
        cells = " | ".join("yes" if role in rule.roles else "" for role in Role)
        lines.append(f"| {rule.description} | {cells} |")
    return "\n".join(lines)
