"""App Home as the dashboard: published on app_home_opened, panels by role, buttons to the lists."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select

from bot.db.models import OutboxMessage, RefundRequest
from bot.domain import MethodType
from bot.ids import NoticeKind
from bot.slack.home import publish_home
from tests.conftest import APPROVALS, Captured, Harness, eventually, opened_modal
from tests.e2e.test_history import row_ids

EVERY_PANEL = {
    "home_volume",
    "home_refunds",
    "home_checklists",
    "home_disputes",
    "home_returns",
    "home_withdrawals",
}


async def opened_home(harness: Harness, user: str, *, after: str | None = None) -> dict[str, Any]:
    """Open the Home tab and wait for the view published for it (newer than ``after``'s hash)."""
    reply = await harness.slack.app_home_opened(user)
    assert reply.status == 200
    return await harness.fake.wait_for(
        lambda: (view := harness.fake.home_view(user)) and view["hash"] != after and view,
        what="home view",
    )


def panels(view: dict[str, Any]) -> set[str]:
    return {
        block["block_id"]
        for block in view["blocks"]
        if block.get("block_id", "").startswith("home_")
    }


async def busy_day(harness: Harness) -> None:
    """Payments, a dispute, a return and a withdrawal: something in every panel."""
    disputed = await harness.charge("500.00")
    returned = await harness.charge("80.00", method=MethodType.ACH, brand=None, last4="6789")
    await harness.charge("125.50")
    harness.clock.advance(days=1)
    await harness.sandbox.settle()
    await harness.sandbox.dispute(disputed.id)
    await harness.sandbox.return_payment(returned.id, "R02")
    await harness.charge("60.00")


async def request_refund(harness: Harness, staff: str) -> RefundRequest:
    txn = await harness.charge("45.00")
    await harness.slack.command(staff, f"refund {txn.id}")
    modal = await opened_modal(harness.fake, staff, "modal")
    await harness.slack.submit(staff, modal, reason="Client paid twice")
    await harness.fake.wait_for(lambda: harness.fake.messages(APPROVALS), what="approval post")

    async def posted() -> RefundRequest | None:
        async with harness.store.sessions() as session:
            row = await session.scalar(select(RefundRequest))
        return row if row is not None and row.approval_ts else None

    row = await eventually(posted, what="approval message recorded")
    assert isinstance(row, RefundRequest)
    return row


async def test_manager_sees_every_panel_and_where_to_approve(harness: Harness) -> None:
    manager = await harness.user("meg", "manager")
    staff = await harness.user("sam", "staff")
    await busy_day(harness)
    request = await request_refund(harness, staff)

    view = await opened_home(harness, manager)
    assert panels(view) == EVERY_PANEL
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    for expected in (
        "Payments dashboard",
        "105.00 USD (2)",  # today: the 60.00 payment and the 45.00 one to refund
        "1 waiting for approval",
        "Approve or reject",
        request.transaction_id,
        "500.00 USD",  # the open dispute
        "R02",
        "Account closed",
        "705.50 USD",  # the latest withdrawal: all three, settled before the return
        "/pay report",
    ):
        assert expected in shown, expected


async def test_viewer_sees_the_smaller_set(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    staff = await harness.user("sam", "staff")
    await busy_day(harness)
    await request_refund(harness, staff)

    view = await opened_home(harness, viewer)
    assert panels(view) == EVERY_PANEL - {"home_refunds", "home_checklists"}
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Approve or reject" not in shown and "waiting for approval" not in shown
    assert "/pay report" not in shown

    staff_view = json.dumps((await opened_home(harness, staff))["blocks"], ensure_ascii=False)
    assert "1 waiting for approval" in staff_view and "Approve or reject" not in staff_view


async def test_panel_buttons_post_the_list_to_the_dm(harness: Harness) -> None:
    manager = await harness.user("meg", "manager")
    await busy_day(harness)
    view = await opened_home(harness, manager)

    await harness.slack.block_action(manager, "home_disputes", view=view)
    dm = await harness.fake.wait_for(lambda: harness.fake.messages(manager), what="DM")
    assert dm[0].text == "Disputes" and len(row_ids(dm[0].blocks or [])) == 1

    await harness.slack.block_action(manager, "home_history", view=view)
    dms = await harness.fake.wait_for(
        lambda: len(harness.fake.messages(manager)) > 1 and harness.fake.messages(manager),
        what="history DM",
    )
    history = dms[-1]
    assert len(row_ids(history.blocks or [])) == 4
    await harness.slack.block_action(manager, "transaction_view", message=history)
    card = await harness.fake.wait_for(
        lambda: [m for m in harness.fake.ephemerals(manager) if "Payment" in m.text],
        what="lookup card in the DM",
    )
    assert card[0].channel == history.channel


async def test_refresh_and_publish_home_draw_it_again(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    first = await opened_home(harness, viewer)
    assert "0.00 USD (0)" in json.dumps(first["blocks"])

    await harness.charge("77.00")
    await harness.slack.block_action(viewer, "home_refresh", view=first)
    second = await harness.fake.wait_for(
        lambda: (v := harness.fake.home_view(viewer)) and v["hash"] != first["hash"] and v,
        what="refreshed home",
    )
    assert "77.00 USD (1)" in json.dumps(second["blocks"])

    await harness.charge("3.00")
    await publish_home(harness.bot.client, harness.store.services, viewer)
    third = harness.fake.home_view(viewer)
    assert third is not None and "80.00 USD (2)" in json.dumps(third["blocks"])


async def test_someone_without_access_is_told_so_on_app_home(harness: Harness) -> None:
    harness.fake.add_user("UNOBODY", name="nobody")
    await harness.slack.app_home_opened("UNOBODY")
    view = await harness.fake.wait_for(lambda: harness.fake.home_view("UNOBODY"), what="home")
    assert "no Payments Portal access" in json.dumps(view)


async def test_a_panel_slack_refuses_for_a_while_still_arrives_once(
    harness: Harness, logs: Captured
) -> None:
    manager = await harness.user("meg", "manager")
    view = await opened_home(harness, manager)
    # Slack refuses the panel's DM post six times: once, then slack_sdk's five retries; the
    # outbox tries it again later.
    harness.fake.fail_next("chat.postMessage", retry_after=0, times=6)

    answer = await harness.slack.block_action(manager, "home_disputes", view=view)
    assert answer.status == 200

    async def delivered() -> list[Any]:
        async with harness.store.sessions() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.kind == NoticeKind.REPLY)
            )
        if row is not None and row.state == "pending" and row.attempts > 0:
            # Refused once and waiting out its back-off: moved past it. Never while an attempt
            # holds the lease, which the moved clock would let a second round take over.
            harness.clock.advance(seconds=30)
        await harness.cycle()
        return harness.fake.messages(manager)

    dm = await eventually(delivered, what="the panel's DM")
    assert [m.text for m in dm] == ["Disputes"]
    assert logs.messages(logging.ERROR) == []


async def test_an_answer_slack_keeps_refusing_is_said_plainly(
    harness: Harness, logs: Captured
) -> None:
    viewer = await harness.user("vic", "viewer")
    first = await opened_home(harness, viewer)
    # Refresh draws App Home again; Slack refuses views.publish past slack_sdk's retries.
    harness.fake.fail_next("views.publish", retry_after=0, times=6)

    answer = await harness.slack.block_action(viewer, "home_refresh", view=first)
    assert answer.status == 200
    dm = await harness.fake.wait_for(lambda: harness.fake.messages(viewer), what="DM")
    assert dm[0].text == "Slack asked Paybot to slow down. Try again in a minute."
    assert logs.messages(logging.ERROR) == []
    assert [m for m in logs.messages() if "rate-limited" in m]
