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
    TRANSACTION_VIEW = "transaction_view"
    HISTORY_NEXT = "history_next"
    HISTORY_PREVIOUS = "history_previous"
    HISTORY_COLUMNS = "history_columns"
    DISPUTE_LIST_NEXT = "dispute_list_next"
    DISPUTE_LIST_PREVIOUS = "dispute_list_previous"
    RETURNS_NEXT = "returns_next"
    RETURNS_PREVIOUS = "returns_previous"
    WITHDRAWALS_NEXT = "withdrawals_next"
    WITHDRAWALS_PREVIOUS = "withdrawals_previous"
    WITHDRAWAL_PAYMENTS = "withdrawal_payments"
    HOME_REFRESH = "home_refresh"
    HOME_HISTORY = "home_history"
    HOME_REFUNDS = "home_refunds"
    HOME_DISPUTES = "home_disputes"
    HOME_RETURNS = "home_returns"
    HOME_WITHDRAWALS = "home_withdrawals"
    DISPUTE_RESPOND = "dispute_respond"
    DISPUTE_ACCEPT = "dispute_accept"
    DISPUTE_RESPONSE_APPROVE = "dispute_response_approve"
    DISPUTE_RESPONSE_REJECT = "dispute_response_reject"


class CallbackId(StrEnum):
    REFUND_REQUEST = "refund_request"
    REFUND_REJECT = "refund_reject"
    USER_ADD = "user_add"
    USER_EDIT = "user_edit"
    HISTORY_COLUMNS = "history_columns"
    DISPUTE_RESPONSE = "dispute_response"
    DISPUTE_RESPONSE_REJECT = "dispute_response_reject"


class EventName(StrEnum):
    APP_HOME_OPENED = "app_home_opened"


class BlockId(StrEnum):
    REASON = "reason"
    USERNAME = "username"
    FULL_NAME = "full_name"
    EMAIL = "email"
    ROLE = "role"
    SLACK_USER = "slack_user"
    HISTORY_COLUMNS = "history_columns"
    HOME_VOLUME = "home_volume"
    HOME_REFUNDS = "home_refunds"
    HOME_DISPUTES = "home_disputes"
    HOME_RETURNS = "home_returns"
    HOME_WITHDRAWALS = "home_withdrawals"
