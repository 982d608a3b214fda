"""Stable identifiers: Slack's (subcommands, action_ids, callback_ids, block_ids), on which stored
messages and tests depend, and the background work's (job kinds, notice kinds, milestones), stored
in the jobs and outbox tables. They change only with a migration of what holds them."""

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
    REFUND_WITHDRAW = "refund_withdraw"
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
    CHECKLIST_TICK = "checklist_tick"  # the checkboxes of a bookkeeping checklist
    DISPUTE_RESPONSE_WITHDRAW = "dispute_response_withdraw"
    ACCEPTANCE_APPROVE = "dispute_acceptance_approve"
    ACCEPTANCE_REJECT = "dispute_acceptance_reject"
    ACCEPTANCE_WITHDRAW = "dispute_acceptance_withdraw"


class CallbackId(StrEnum):
    REFUND_REQUEST = "refund_request"
    REFUND_REJECT = "refund_reject"
    USER_ADD = "user_add"
    USER_EDIT = "user_edit"
    HISTORY_COLUMNS = "history_columns"
    DISPUTE_RESPONSE = "dispute_response"
    DISPUTE_RESPONSE_REJECT = "dispute_response_reject"
    ACCEPTANCE_REJECT = "dispute_acceptance_reject"


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
    HOME_CHECKLISTS = "home_checklists"
    CHECKLIST = "checklist"  # + ":" + the checklist's id: the block of its checkboxes


class JobKind(StrEnum):
    """Domain actions the worker takes after an ack (bot/workers/jobs.py); no Slack message."""

    REFUND_EXECUTE = "refund.execute"
    DISPUTE_SUBMIT = "dispute.submit"
    DISPUTE_ACCEPT = "dispute.accept"
    ACCEPTANCE_CARRY_OUT = "dispute.acceptance"  # an approved acceptance request


class NoticeKind(StrEnum):
    """Messages owed to Slack, delivered from the outbox (bot/workers/notifications.py)."""

    DISPUTE_CREATED = "dispute.created"
    DISPUTE_UPDATED = "dispute.updated"
    RETURN_CREATED = "return.created"
    WITHDRAWAL_RETURNED = "withdrawal.returned"
    DISPUTE_REMINDER = "dispute.reminder"
    DISPUTE_DM = "dispute.dm"
    DISPUTE_DEADLINE_DM = "dispute.deadline.dm"  # a day before the processor's date
    DISPUTE_ACCEPTED = "dispute.accepted"  # a reply in the dispute's thread
    RESPONSE_DRAFT = "dispute.response"  # the drafted response, with its buttons, in the thread
    RESPONSE_UPDATE = "dispute.response.update"  # the draft rendered again in its new state
    RESPONSE_MILESTONE = "dispute.response.milestone"  # a reply in the dispute's thread
    RESPONSE_DOCUMENTS = "dispute.response.documents"  # its documents, uploaded to the thread
    RESPONSE_DM = "dispute.response.dm"  # to a person who may decide, or the drafter
    ACCEPTANCE_REQUEST = "dispute.acceptance"  # asking to accept, with its buttons, in the thread
    ACCEPTANCE_UPDATE = "dispute.acceptance.update"  # that request rendered again
    ACCEPTANCE_MILESTONE = "dispute.acceptance.milestone"  # a reply in the dispute's thread
    ACCEPTANCE_DM = "dispute.acceptance.dm"  # to a person who may decide, or the requester
    REFUND_REQUEST = "refund.request"  # the approval message, with its buttons
    REFUND_UPDATE = "refund.update"  # the approval message rendered again in its new state
    REFUND_MILESTONE = "refund.milestone"  # a reply in the approval message's thread
    REFUND_CHECKLIST = "refund.checklist"  # the bookkeeping checklist, after "succeeded"
    REFUND_OVERDUE = "refund.overdue"  # still pending after the bank day it was expected by
    REFUND_DM = "refund.dm"
    REFUND_MATTER = "refund.matter"  # tell the matter's people (their DMs are owed then)
    MATTER_MISSING = "refund.matter.missing"  # the matter's people Slack does not know
    DAILY_DIGEST = "daily.digest"  # the previous business day's settlement, once a day
    TRUST_DEBIT_CHECKLIST = "checklist.trust_debit"  # the cover checklist, in the debit's thread
    CHECKLIST_UPDATE = "checklist.update"  # a checklist rendered again after a tick
    CHECKLIST_REMINDER = "checklist.reminder"  # still open after the set business days
    REPLY = "reply"  # an answer to a person's own click (an App Home list), rendered when asked


class Milestone(StrEnum):
    """A step of a request that people are told of."""

    APPROVED = "approved"
    REJECTED = "rejected"
    SUBMITTED = "submitted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    FIRST_APPROVAL = "first_approval"  # one of two approvals given
    REMINDED = "reminded"  # still undecided: raised again
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
