"""Stable Slack identifiers (subcommands, action_ids, callback_ids, block_ids): stored messages
and tests depend on these strings, so they change only with a migration of old messages."""

from enum import StrEnum


class Subcommand(StrEnum):
    HELP = "help"
    ME = "me"
    LOOKUP = "lookup"
    REFUND = "refund"
    HISTORY = "history"
    DISPUTES = "disputes"
    RETURNS = "returns"
    WITHDRAWALS = "withdrawals"
    REPORT = "report"
    AUDIT = "audit"
    USERS = "users"


class ActionId(StrEnum):
    REFUND_OPEN = "refund_open"
    REFUND_APPROVE = "refund_approve"
    REFUND_REJECT = "refund_reject"
    USERS_ADD = "users_add"
    USERS_EDIT = "users_edit"
    USERS_TOGGLE = "users_toggle"
    USERS_PAGE = "users_page"
    AUDIT_PAGE = "audit_page"


class CallbackId(StrEnum):
    REFUND_REQUEST = "refund_request"
    REFUND_REJECT = "refund_reject"
    USER_ADD = "user_add"
    USER_EDIT = "user_edit"


class EventName(StrEnum):
    APP_HOME_OPENED = "app_home_opened"


class BlockId(StrEnum):
    REASON = "reason"
    USERNAME = "username"
    FULL_NAME = "full_name"
    EMAIL = "email"
    ROLE = "role"
    SLACK_USER = "slack_user"
