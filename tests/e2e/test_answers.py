"""Every interaction is answered 200 within Slack's window, whatever happens after the ack.

A sweep over every button and modal the bot renders, clicked or submitted with stale, unknown,
forged and other people's values by every role; an Events API delivery whose work fails, then
Slack's retry; requests for another installation; modals the bot did not open.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.db.models import AuditEntry, SlackDelivery
from bot.domain import Source
from bot.ids import ActionId, CallbackId
from bot.workspace.sender import SlackWouldFail
from bot.workspace.signing import sign
from tests.conftest import (
    APPROVALS,
    NOTIFY,
    SIGNING_SECRET,
    Captured,
    Harness,
    eventually,
    opened_modal,
)

ROLES = ("admin", "manager", "staff", "viewer")


async def people(harness: Harness) -> dict[str, str]:
    found = {role: await harness.user(f"{role}x", role) for role in ROLES}
    found["nobody"] = "UNOBODY"  # in the workspace, no portal account
    harness.fake.add_user("UNOBODY", name="nobody", real_name="Nobody", email="no@firm.com")
    return found


async def values_worth_trying(harness: Harness, who: dict[str, str]) -> list[str]:
    """Stale, unknown, forged and other people's values, all in one list."""
    staff, manager = who["staff"], who["manager"]
    services = harness.store.services
    actor = await services.access.actor(staff)
    boss = await services.access.actor(manager)
    assert actor is not None and boss is not None
    pending_txn = await harness.charge("10.00")
    pending = await services.refunds.request(actor, pending_txn.id, "Paid twice", Source.MODAL)
    decided_txn = await harness.charge("11.00")
    decided = await services.refunds.request(actor, decided_txn.id, "Paid twice", Source.MODAL)
    await services.refunds.reject(boss, decided.id, "Not this one", Source.MODAL)
    disputed = await harness.charge("12.00")
    dispute = await harness.sandbox.dispute(disputed.id)
    return [
        pending.id,  # someone else's request (the staff member's own for staff)
        decided.id,  # stale: decided already
        decided_txn.id,  # a payment with a decided request
        dispute.id,
        "txn_unknown000000",  # unknown
        '{"filter": 5, "page": -1}',  # forged
        "<!channel> ' OR 1=1 --",
        "x" * 300,
    ]


async def test_every_button_with_any_value_by_anyone_is_answered_200_within_a_second(
    harness: Harness, logs: Captured
) -> None:
    # Over a thousand clicks in a few minutes: far past Slack's per-method tiers, which are not
    # what this sweep is about (each tier has its own test in tests/unit/test_fake_slack_rules.py).
    # The Home panels are owed to the clicker's DM, far faster than one a second: the outbox
    # would pace them (tests/e2e/test_home.py), at a second each, so the per-channel limit is
    # off too (tests/unit/test_fake_slack_rules.py has its own test).
    harness.fake.tier_limits = False
    harness.fake.rate_limit(None, None)
    who = await people(harness)
    values = await values_worth_trying(harness, who)
    failures: list[str] = []
    clicks = 0
    for action in ActionId:
        for role, user in who.items():
            for value in values:
                clicks += 1
                try:
                    await harness.slack.block_action(
                        user, action.value, value=value, channel_id="C0GENERAL"
                    )
                except SlackWouldFail as failed:
                    failures.append(f"{role}: {failed}")
                    continue
                answered = harness.slack.answers[-1]
                if answered.seconds >= 1.0:
                    failures.append(f"{role}: {answered}")
    await harness.cycle()
    assert failures == [], f"{len(failures)} of {clicks} clicks: " + "\n".join(failures[:20])
    assert not [m for m in logs.messages() if "didn't call ack()" in m]
    assert logs.messages(logging.ERROR) == [], "every refusal should be a readable message"
    # What the person read: every response_url answer has text a person can read.
    posted = [body for _, body in harness.fake.responses]
    assert posted and all(str(body.get("text") or "").strip() for body in posted)


def forged_view(callback_id: str, metadata: str, blocks: list[str]) -> dict[str, Any]:
    return {
        "id": "VFORGED",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": b,
                "element": {"type": "plain_text_input", "action_id": "value"},
                "label": {"type": "plain_text", "text": b},
            }
            for b in blocks
        ],
        "hash": "h",
    }


async def test_every_modal_submitted_stale_or_forged_by_anyone_gets_an_answer_slack_accepts(
    harness: Harness, logs: Captured
) -> None:
    who = await people(harness)
    values = await values_worth_trying(harness, who)
    shapes = [[], ["x"], ["reason"], ["summary", "other"], ["username", "email", "role"]]
    failures: list[str] = []
    for callback in CallbackId:
        for role, user in who.items():
            for metadata in values[:3] + values[-3:]:
                for blocks in shapes:
                    view = forged_view(callback.value, metadata, blocks)
                    state = {
                        b: {"value": {"type": "plain_text_input", "value": "x"}} for b in blocks
                    }
                    try:
                        answer = await harness.slack.view_submission(user, view, state)
                    except SlackWouldFail as failed:
                        failures.append(f"{role}: {failed}")
                        continue
                    if harness.slack.answers[-1].seconds >= 1.0:
                        failures.append(f"{role} {callback}: {harness.slack.answers[-1]}")
                    body = answer.json if isinstance(answer.json, dict) else {}
                    if body.get("response_action") == "errors":
                        named = set(body["errors"])
                        if not named or not named <= set(blocks):
                            failures.append(f"{callback} {blocks}: errors for {sorted(named)}")
    assert failures == [], "\n".join(failures[:20])
    assert not [m for m in logs.messages() if "didn't call ack()" in m]
    assert logs.messages(logging.ERROR) == []


async def test_field_errors_for_blocks_the_view_lacks_become_a_message(harness: Harness) -> None:
    """A reject modal the bot did not open, without its reason input: Slack refuses `errors`
    for a block the view does not have, so the person reads the message instead."""
    who = await people(harness)
    values = await values_worth_trying(harness, who)
    empty = forged_view(CallbackId.REFUND_REJECT.value, values[0], [])
    answer = await harness.slack.view_submission(who["manager"], empty, {})
    assert answer.json["response_action"] == "update"
    assert "reason" in json.dumps(answer.json["view"]).lower()
    other = forged_view(CallbackId.REFUND_REJECT.value, values[0], ["note"])
    answer = await harness.slack.view_submission(
        who["manager"], other, {"note": {"value": {"type": "plain_text_input", "value": ""}}}
    )
    assert answer.json["response_action"] == "errors"
    assert set(answer.json["errors"]) == {"note"}


async def test_an_event_whose_work_failed_is_done_when_slack_retries_it(harness: Harness) -> None:
    """The Home tab is published when it opens; the first delivery fails (Slack refuses the
    publish once), Slack's retry of the same event_id is worked, and a later retry is not."""
    staff = await harness.user("sam", "staff")
    harness.fake.fail_next("views.publish", "internal_error", status=200)
    event = {"type": "app_home_opened", "user": staff, "channel": harness.fake.dm(staff)}
    event.update(tab="home", event_ts="1700000000.000100")
    body = {
        "token": "t",
        "team_id": harness.fake.team_id,
        "api_app_id": harness.fake.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": "EvRETRY0001",
        "event_time": 1700000000,
        "authorizations": [{"team_id": harness.fake.team_id, "user_id": "U0PAYBOT"}],
    }
    first = await harness.slack.send(body)
    assert first.status == 200 and harness.slack.answers[-1].seconds < 1.0

    def published() -> int:
        return len([c for c in harness.fake.calls_to("views.publish") if c.error is None])

    await eventually(
        lambda: _true(len(harness.fake.calls_to("views.publish")) >= 2),
        what="the failed publish and the error shown",
    )
    assert published() <= 1  # at most the error message, not the dashboard
    dashboards_before = _dashboards(harness, staff)
    retry = await harness.slack.send(body, headers={"X-Slack-Retry-Num": "1"})
    assert retry.status == 200
    await eventually(
        lambda: _true(_dashboards(harness, staff) == dashboards_before + 1),
        what="the dashboard published by the retry",
    )
    again = await harness.slack.send(body, headers={"X-Slack-Retry-Num": "2"})
    assert again.status == 200
    await harness.cycle()
    assert _dashboards(harness, staff) == dashboards_before + 1, "done once"


async def _true(value: bool) -> bool:
    return value


def _dashboards(harness: Harness, user: str) -> int:
    """views.publish calls that published the dashboard (not an error message) for ``user``."""
    return len(
        [
            c
            for c in harness.fake.calls_to("views.publish")
            if c.error is None
            and c.params.get("user_id") == user
            and "home_refresh" in json.dumps(c.params)
        ]
    )


@pytest.mark.parametrize(
    "change",
    [
        {"team_id": "T0ELSEWHERE"},
        {"api_app_id": "A0OTHERAPP"},
        {"enterprise_id": "E0OTHERORG"},
    ],
    ids=["team", "app", "organization"],
)
async def test_a_request_for_another_installation_is_refused_and_audited(
    harness: Harness, change: dict[str, str]
) -> None:
    admin = await harness.user("ada", "admin")
    form = {
        "token": "t",
        "team_id": harness.fake.team_id,
        "team_domain": "paybot-test",
        "channel_id": "C0GENERAL",
        "user_id": admin,
        "command": "/pay",
        "text": "users",
        "api_app_id": harness.fake.app_id,
        "response_url": harness.fake.response_url(channel="C0GENERAL", user=admin),
        "trigger_id": harness.fake.new_trigger_id(admin),
        **change,
    }
    answer = await harness.slack.send(urlencode(form))
    assert answer.status == 200 and "another Slack workspace" in answer.json["text"]
    async with harness.store.sessions() as session:
        refused = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.target_type == "installation", AuditEntry.outcome == "denied")
        )
    assert refused == 1
    assert harness.fake.calls_to("views.open") == []

    click = await harness.slack.block_action(admin, "users_page", value="{}", channel_id=NOTIFY)
    assert click.status == 200  # our own workspace is still answered


async def test_a_click_for_another_team_never_reaches_its_response_url(harness: Harness) -> None:
    manager = await harness.user("meg", "manager")
    payload = {
        "type": "block_actions",
        "user": {"id": manager, "team_id": "T0ELSEWHERE"},
        "api_app_id": harness.fake.app_id,
        "team": {"id": "T0ELSEWHERE", "domain": "elsewhere"},
        "trigger_id": harness.fake.new_trigger_id(manager),
        "actions": [{"action_id": "refund_approve", "block_id": "b", "type": "button"}],
        "container": {"type": "message", "channel_id": APPROVALS},
        "response_url": harness.fake.response_url(channel=APPROVALS, user=manager),
    }
    answer = await harness.slack.send(urlencode({"payload": json.dumps(payload)}))
    assert answer.status == 200 and answer.text == ""
    await harness.cycle()
    assert harness.fake.responses == []
    assert await opened_nothing(harness)


def click_by_someone_without_an_account(harness: Harness, **change: Any) -> str:
    """A click every later step of the gate would act on: it carries a trigger_id (a delivery
    key), a response_url off Slack's hosts (a 400) and a clicker with no portal account (an
    audited refusal)."""
    payload = {
        "type": "block_actions",
        "user": {"id": "UOUTSIDER"},
        "api_app_id": harness.fake.app_id,
        "team": {"id": harness.fake.team_id, "domain": "paybot-test"},
        "trigger_id": "1.2.gate-order",
        "actions": [{"action_id": "refund_approve", "block_id": "b", "type": "button"}],
        "container": {"type": "message", "channel_id": APPROVALS},
        "response_url": "https://evil.test/hooks",
        **change,
    }
    return urlencode({"payload": json.dumps(payload)})


async def written_by_the_gate(harness: Harness) -> tuple[list[tuple[str | None, str]], int]:
    """The audit rows (target type, outcome) and the number of delivery keys stored."""
    async with harness.store.sessions() as session:
        audited = (await session.scalars(select(AuditEntry))).all()
        keys = await session.scalar(select(func.count()).select_from(SlackDelivery))
    return [(a.target_type, a.outcome) for a in audited], keys or 0


async def test_a_request_for_another_installation_is_refused_before_anything_else(
    harness: Harness,
) -> None:
    """The installation is the gate's first step: the refusal is its only audit row, no
    delivery key is taken and the response_url is not even looked at."""
    body = click_by_someone_without_an_account(
        harness, team={"id": "T0ELSEWHERE", "domain": "elsewhere"}
    )
    answer = await harness.slack.send(body)
    assert answer.status == 200 and answer.text == ""
    assert await written_by_the_gate(harness) == ([("installation", "denied")], 0)
    assert harness.fake.responses == []


async def test_a_response_url_off_slack_is_refused_before_a_key_or_an_audit_row(
    harness: Harness,
) -> None:
    """Refused for its response_url, a click takes no delivery key: the same click with Slack's
    response_url is then not a repeat, and only then is its clicker refused and audited."""
    click = click_by_someone_without_an_account(harness)
    refused = await harness.slack.raw(click, headers=sign(click, SIGNING_SECRET))
    assert refused.status == 400
    assert await written_by_the_gate(harness) == ([], 0)

    good_url = harness.fake.response_url(channel=APPROVALS, user="UOUTSIDER")
    answer = await harness.slack.send(
        click_by_someone_without_an_account(harness, response_url=good_url)
    )
    assert answer.status == 200
    audited, keys = await written_by_the_gate(harness)
    assert keys == 1 and [outcome for _, outcome in audited] == ["denied"]


async def opened_nothing(harness: Harness) -> bool:
    return not harness.fake.calls_to("views.open") and not harness.fake.messages(APPROVALS)


async def test_refund_modal_opened_from_a_lookup_card_is_filled(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("25.00")
    card = (await harness.slack.command(staff, f"lookup {txn.id}")).json
    await harness.slack.block_action(staff, "refund_open", message=card, channel_id="C0GENERAL")
    modal = await opened_modal(harness.fake, staff, "refund modal")
    assert modal["callback_id"] == "refund_request" and modal["private_metadata"] == txn.id
