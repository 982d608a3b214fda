"""Every Block Kit builder in bot/blocks, rendered from fixed samples and compared with its JSON
snapshot in tests/unit/__snapshots__/test_block_snapshots/: a changed rendering fails as a diff.

After a change you meant, review the diff and update the snapshots with one command:

    pytest tests/unit/test_block_snapshots.py --snapshot-update

A case without a snapshot fails (syrupy writes none unless asked), and a builder without a case
fails ``test_every_builder_has_a_case``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from slack_sdk.models.views import View
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

import bot.blocks
from bot.blocks import (
    acceptances,
    approvals,
    audit,
    checklists,
    common,
    digest,
    disputes,
    help,
    history,
    home,
    listings,
    refunds,
    reports,
    transactions,
    users,
)
from bot.documents import THREAD_BLOCK, OfferedFile
from bot.domain import AuditPage, DisputeStatus, UserPage
from bot.evidence import evidence_fields
from bot.ids import ActionId, CallbackId
from bot.overview import (
    DEFAULT_COLUMNS,
    DisputeList,
    HistoryFilter,
    HistoryView,
    Listing,
    ListState,
    RefundWork,
)
from bot.processors.stripe.disputes import STRIPE_LIMITS
from tests.unit import block_samples as s

Builder = Callable[..., Any]
RETURNS = (ActionId.RETURNS_PREVIOUS, ActionId.RETURNS_NEXT)
card = transactions.transaction_card


def case(builder: Builder, state: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(builder, args, kwargs, id=f"{builder.__name__}-{state}")


CASES = [
    case(approvals.rejection_modal, "bare", CallbackId.REFUND_REJECT, "rr_1", "Reject refund"),
    case(audit.audit_page, "entries_and_older", AuditPage(s.AUDIT_LINES, 41), None),
    case(audit.audit_page, "subject_last_page", AuditPage(s.AUDIT_LINES[:1], None), "maria"),
    case(audit.audit_page, "empty", AuditPage((), None), s.SALE.id),
    case(common.message_modal, "title_cut", "A title longer than Slack allows", "Done."),
    case(common.message_home, "refusal", "You have no Payments Portal access: ask an admin."),
    *(
        case(disputes.dispute_blocks, status.value, replace(s.DISPUTE, status=status), "M-1", s.NOW)
        for status in DisputeStatus
    ),
    case(disputes.dispute_message, "new", s.DISPUTE, "MAT-1001", s.NOW),
    case(disputes.dispute_message, "overdue_no_matter", s.OVERDUE, None, s.NOW),
    case(disputes.return_blocks, "r01", s.RETURN, "Insufficient funds"),
    case(disputes.return_message, "r01", s.RETURN, "Insufficient funds"),
    case(disputes.withdrawal_return_message, "r02", "wd_1", "3,500.00 USD", "R02", "Closed"),
    case(disputes.response_modal, "needs_response", s.DISPUTE),
    case(
        disputes.response_modal,
        "stripe_with_documents",
        s.DISPUTE,
        fields=evidence_fields("stripe"),
        limits=STRIPE_LIMITS,
        thread_files=(
            OfferedFile("F0LETTER", "engagement letter.pdf", 420_000, "u", THREAD_BLOCK),
        ),
        stripe_order=True,
    ),
    case(
        disputes.response_draft,
        "with_documents",
        replace(s.RESPONSE, documents=("engagement-letter.pdf", "card *authorization*.png")),
    ),
    *(case(acceptances.acceptance_message, k, a) for k, a in s.ACCEPTANCES.items()),
    case(acceptances.reject_acceptance_modal, "requested", s.ACCEPTANCE),
    case(disputes.response_modal, "firms_date", s.DISPUTE, None, ask_by=date(2026, 11, 20)),
    case(disputes.dispute_message, "firms_date", s.DISPUTE, "MAT-1001", s.NOW, date(2026, 11, 20)),
    *(case(disputes.response_draft, state, r) for state, r in s.RESPONSES.items()),
    case(disputes.reject_response_modal, "drafted", s.RESPONSE),
    case(help.help_blocks, "viewer", s.VIEWER),
    case(help.help_blocks, "admin_unknown_command", s.ADMIN, unknown="refund 4242424242424242"),
    case(help.profile_blocks, "staff", s.STAFF),
    case(help.profile_blocks, "inactive_manager", s.person("old", "manager", active=False)),
    case(history.history_blocks, "first_page", s.HISTORY),
    case(history.history_blocks, "searched_middle_page", s.SEARCHED_PAGE),
    case(history.history_blocks, "empty", HistoryView(HistoryFilter(), (), DEFAULT_COLUMNS)),
    case(history.history_blocks, "nothing_matches", HistoryView(s.SEARCHED, (), DEFAULT_COLUMNS)),
    case(history.history_blocks, "new_york", replace(s.HISTORY, zone=s.NEW_YORK)),
    case(history.columns_modal, "defaults", DEFAULT_COLUMNS, s.SEARCHED.encode()),
    case(history.columns_modal, "none_chosen", (), "{}"),
    case(digest.digest_blocks, "both_accounts_weekend", s.DIGEST),
    case(home.home_view, "manager", s.BOARD, s.LINKS),
    case(home.home_view, "checklists_and_accounts", s.CHECKLIST_BOARD, s.CHECKLIST_LINKS),
    case(checklists.checklist_message, "trust_refund_half_done", s.TRUST_REFUND_CHECKLIST),
    case(checklists.checklist_message, "operating_refund", s.OPERATING_REFUND_CHECKLIST),
    case(checklists.checklist_message, "trust_debit_open", s.TRUST_DEBIT_CHECKLIST),
    case(checklists.checklist_message, "covered_new_york", s.COVERED, s.NEW_YORK),
    case(home.home_view, "quiet_viewer", s.QUIET_BOARD, {}),
    case(home.home_view, "new_york", replace(s.BOARD, as_of=s.NOW.astimezone(s.NEW_YORK)), {}),
    case(home.refund_work_blocks, "more_than_shown", s.WORK, s.LINKS),
    case(home.refund_work_blocks, "none", RefundWork((), 0, (), 0, False), {}),
    case(listings.pager, "both_ways", Listing((), "c1", "c2", "c0"), ListState("c1"), *RETURNS),
    case(listings.pager, "one_page", Listing(()), ListState(), *RETURNS),
    case(listings.disputes_blocks, "open_paged", s.DISPUTES),
    case(listings.disputes_blocks, "all", s.ALL_DISPUTES),
    case(listings.disputes_blocks, "none_open", DisputeList(True, Listing(()))),
    case(listings.disputes_blocks, "none_at_all", DisputeList(False, Listing(()))),
    case(listings.returns_blocks, "paged", Listing((s.RETURN_LINE,), "c1", "c2")),
    case(listings.returns_blocks, "empty", Listing(())),
    case(listings.withdrawals_blocks, "one_open", s.WITHDRAWALS),
    case(listings.withdrawals_blocks, "closed", replace(s.WITHDRAWALS, expanded=None)),
    case(listings.withdrawals_blocks, "empty", s.NO_WITHDRAWALS),
    case(listings.withdrawals_blocks, "trust_and_operating", s.SPLIT_WITHDRAWALS),
    case(
        listings.withdrawals_blocks,
        "new_york",
        replace(s.WITHDRAWALS, withdrawals=replace(s.WITHDRAWALS.withdrawals, zone=s.NEW_YORK)),
    ),
    case(
        listings.disputes_blocks,
        "new_york",
        replace(s.DISPUTES, lines=replace(s.DISPUTES.lines, zone=s.NEW_YORK)),
    ),
    case(refunds.refund_modal, "operating_items", s.SALE),
    case(refunds.refund_modal, "trust", s.TRUST_SALE),
    case(refunds.reject_modal, "pending", s.REQUEST),
    *(case(refunds.refund_request_message, state, r) for state, r in s.REQUESTS.items()),
    case(
        refunds.refund_request_message,
        "expected_by_new_york",
        replace(s.REQUEST, expected_by=date(2026, 11, 18)),
        s.NEW_YORK,
    ),
    case(reports.report_blocks, "thirty_days", s.REPORT),
    case(reports.report_blocks, "quiet_month", s.EMPTY_REPORT),
    case(card, "refundable", s.SALE, can_refund=True, refusal=None),
    case(card, "disputed_refused", s.DISPUTED_SALE, can_refund=True, refusal="It is disputed."),
    case(card, "viewer", s.TRUST_SALE, can_refund=False, refusal=None),
    case(card, "returned", s.RETURNED, can_refund=False, refusal="It was returned."),
    case(card, "a_refund", s.REFUND_TXN, can_refund=False, refusal="A refund is not refunded."),
    case(users.users_list, "middle_page_searched", s.USERS, "a"),
    case(users.users_list, "empty", UserPage((), 0, False), None),
    case(users.add_user_modal, "empty"),
    case(users.edit_role_modal, "manager", s.MANAGER),
]


def rendered(result: Any) -> Any:
    """What Slack receives: the view's JSON or each block's (validated as it is sent)."""
    if isinstance(result, View):
        return result.to_dict()
    return [block.to_dict() for block in result]


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize(("builder", "args", "kwargs"), CASES)
def test_block_rendering(
    snapshot_json: SnapshotAssertion,
    builder: Builder,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    assert rendered(builder(*args, **kwargs)) == snapshot_json


def builders() -> set[str]:
    """Every public function of bot/blocks that returns blocks or a view."""
    found = set()
    for module_info in pkgutil.iter_modules(bot.blocks.__path__):
        module = importlib.import_module(f"bot.blocks.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            returns = function.__annotations__.get("return")
            if (
                function.__module__ == module.__name__
                and not name.startswith("_")
                and returns in ("list[Block]", "View")
            ):
                found.add(f"{module_info.name}.{name}")
    return found


def test_every_builder_has_a_case() -> None:
    covered = {
        f"{param.values[0].__module__.rsplit('.', 1)[1]}.{param.values[0].__name__}"
        for param in CASES
    }
    assert builders() - covered == set()
