"""Bad input, faults and leaks: never a 500, never a second refund, never a secret or card number."""

from __future__ import annotations

import io
import json
import logging
import re
from urllib.parse import urlencode

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.db.base import Base
from bot.db.models import AuditEntry, RefundRequest, SlackDelivery
from bot.domain import Account, RefundState
from bot.errors import ProcessorError
from bot.ids import ActionId, CallbackId, Subcommand
from bot.logs import configure, secrets_of
from bot.pan import luhn_valid
from bot.workspace.signing import sign
from bot.workspace.slack_api import block_problems
from tests.card_numbers import KNOWN, SPELLED, leaked
from tests.conftest import (
    APPROVALS,
    BOT_TOKEN,
    NOTIFY,
    SIGNING_SECRET,
    Harness,
    eventually,
    opened_modal,
)

EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ids = st.one_of(
    st.text(max_size=120),
    st.from_regex(r"txn_[a-z0-9]{0,30}", fullmatch=True),
    st.sampled_from(
        ["<!channel>", "&amp;", "' OR 1=1 --", "txn_%", "../../etc", "\x00", "💸" * 40]
    ),
)
subcommands = st.sampled_from([s.value for s in Subcommand] + ["", "LOOKUP", "Refund", "nope"])
command_text = st.one_of(
    st.text(max_size=400), st.builds(lambda s, a: f"{s} {a}", subcommands, ids)
)


async def ensure_users(harness: Harness) -> dict[str, str]:
    names = {"admin": "ada", "manager": "meg", "staff": "sam", "viewer": "vic"}
    found = {}
    for role, name in names.items():
        if (await harness.store.services.users.search(name)).users:
            found[role] = f"U{name.upper()}"
        else:
            found[role] = await harness.user(name, role)
    return found


class Unhandled(logging.Handler):
    """Counts what the app's error handler could only log with a reference id."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def watch_errors() -> Unhandled:
    handler = Unhandled()
    logging.getLogger("paybot.errors").addHandler(handler)
    logging.getLogger("slack_bolt").addHandler(handler)
    return handler


def check_answer(status: int, body: str) -> None:
    assert status < 500, body[:300]
    if body.startswith("{"):
        answer = json.loads(body)
        if "blocks" in answer:
            assert block_problems(answer["blocks"], max_blocks=50) == []
        if answer.get("response_action") == "errors":
            assert all(
                isinstance(k, str) and isinstance(v, str) for k, v in answer["errors"].items()
            )


@EXAMPLES
@given(text=command_text)
async def test_any_pay_text_gets_a_clear_answer(harness: Harness, text: str) -> None:
    users = await ensure_users(harness)
    errors = watch_errors()
    for user in users.values():
        answer = await harness.slack.command(user, text)
        check_answer(answer.status, answer.text)
    assert errors.records == []


@EXAMPLES
@given(
    callback=st.sampled_from(list(CallbackId)),
    metadata=ids,
    values=st.dictionaries(
        st.sampled_from(
            [
                "reason",
                "username",
                "full_name",
                "email",
                "role",
                "slack_user",
                "summary",
                "product_description",
                "service_date",
                "other",
                "x",
            ]
        ),
        st.one_of(st.text(max_size=600), st.none()),
        max_size=6,
    ),
)
async def test_any_modal_submission_gets_a_clear_answer(
    harness: Harness, callback: CallbackId, metadata: str, values: dict[str, str | None]
) -> None:
    users = await ensure_users(harness)
    errors = watch_errors()
    state = {
        block: {"value": {"type": "plain_text_input", "value": value}}
        for block, value in values.items()
    }
    view = {
        "id": "VFUZZ",
        "type": "modal",
        "callback_id": callback.value,
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": b,
                "element": {"type": "plain_text_input", "action_id": "value"},
                "label": {"type": "plain_text", "text": b},
            }
            for b in values
        ],
        "hash": "h",
    }
    answer = await harness.slack.view_submission(users["admin"], view, state)
    check_answer(answer.status, answer.text)
    await harness.cycle()
    assert errors.records == [], [r.getMessage() for r in errors.records]


@EXAMPLES
@given(action=st.sampled_from(list(ActionId)), value=ids)
async def test_any_button_value_gets_a_clear_answer(
    harness: Harness, action: ActionId, value: str
) -> None:
    users = await ensure_users(harness)
    errors = watch_errors()
    answer = await harness.slack.block_action(
        users["admin"], action.value, value=value, channel_id="C0GENERAL"
    )
    check_answer(answer.status, answer.text)
    await harness.cycle()
    assert errors.records == [], [r.getMessage() for r in errors.records]


async def test_oversized_malformed_forged_and_replayed_requests(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    url = f"{harness.url}/slack/events"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession() as http:
        huge = "text=" + "x" * (1024 * 1024)
        async with http.post(
            url, data=huge, headers={**form, **sign(huge, SIGNING_SECRET)}
        ) as answer:
            assert answer.status == 413
        for body in ("payload=%7Bnot-json", "payload=%5B1%5D", "payload="):
            async with http.post(
                url, data=body, headers={**form, **sign(body, SIGNING_SECRET)}
            ) as answer:
                assert answer.status == 400, body
            async with http.post(
                url, data=body, headers={**form, **sign(body, "forged")}
            ) as answer:
                assert answer.status == 401, body
        webhook = b"x" * (1024 * 1024 + 1)
        async with http.post(f"{harness.url}/webhooks/sandbox", data=webhook) as answer:
            assert answer.status == 413

    txn = await harness.charge()
    await harness.slack.command(staff, f"refund {txn.id}")
    modal = await opened_modal(harness.fake, staff, "modal")
    state = {"reason": {"value": {"type": "plain_text_input", "value": "Overpaid"}}}
    payload = {
        "type": "view_submission",
        "user": {"id": staff},
        "trigger_id": "1.2.replayed",
        "team": {"id": "T0PAYBOT"},
        "view": {**modal, "state": {"values": state}},
    }
    body = "payload=" + aiohttp.helpers.quote(json.dumps(payload), safe="")  # type: ignore[attr-defined]
    headers = {**form, **sign(body, SIGNING_SECRET)}
    async with aiohttp.ClientSession() as http:
        for _ in range(3):  # the same signed request, replayed within the five minutes
            async with http.post(url, data=body, headers=headers) as answer:
                assert answer.status == 200
    async with harness.store.sessions() as session:
        requests = (await session.scalars(select(RefundRequest))).all()
    assert len(requests) == 1


async def test_a_replayed_read_is_answered_again_and_a_replayed_request_is_not(
    harness: Harness,
) -> None:
    """Delivery keys guard what changes something: a lookup repeated within the five minutes is
    answered (and audited) again with no key stored; a repeated `/pay refund` opens no second
    modal."""
    staff = await harness.user("sam", "staff")
    txn = await harness.charge()
    url = f"{harness.url}/slack/events"
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def signed(text: str, trigger: str) -> tuple[str, dict[str, str]]:
        fields = {"command": "/pay", "text": text, "user_id": staff, "team_id": "T0PAYBOT"}
        body = urlencode({**fields, "trigger_id": trigger})
        return body, {**form, **sign(body, SIGNING_SECRET)}

    async with aiohttp.ClientSession() as http:
        body, headers = signed(f"lookup {txn.id}", "1.2.lookup")
        for _ in range(2):
            async with http.post(url, data=body, headers=headers) as answer:
                assert answer.status == 200 and f"Payment {txn.id}" in await answer.text()
        body, headers = signed(f"refund {txn.id}", "1.2.refund")
        answers = []
        for _ in range(2):
            async with http.post(url, data=body, headers=headers) as answer:
                answers.append((answer.status, await answer.text()))
    assert answers[1] == (200, "")
    await harness.fake.wait_for(lambda: harness.fake.calls_to("views.open"), what="the modal")
    assert len(harness.fake.calls_to("views.open")) == 1
    async with harness.store.sessions() as session:
        keys = set(await session.scalars(select(SlackDelivery.key)))
        lookups = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "lookup"))
        ).all()
    assert keys == {"trigger:1.2.refund"}
    assert [(e.target_id, e.outcome) for e in lookups] == [(txn.id, "done")] * 2


async def test_slack_retries_of_an_event_do_the_work_once(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    event = {"type": "app_home_opened", "user": viewer, "tab": "home", "channel": "D1"}
    body = {
        "type": "event_callback",
        "event_id": "Ev0RETRY",
        "event_time": 1,
        "team_id": "T0PAYBOT",
        "api_app_id": "A0PAYBOT",
        "token": "x",
        "event": event,
    }
    for retry in range(3):
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else {}
        )
        raw = json.dumps(body)
        answer = await harness.slack.raw(
            raw, "application/json", {**sign(raw, SIGNING_SECRET), **headers}
        )
        assert answer.status == 200
    await harness.cycle()
    await harness.fake.wait_for(
        lambda: harness.fake.calls_to("views.publish"), what="App Home published"
    )
    await harness.cycle()
    assert len(harness.fake.calls_to("views.publish")) == 1


async def test_a_processor_timeout_after_the_refund_is_retried_with_the_same_key(
    harness: Harness,
) -> None:
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    txn = await harness.charge("77.00")
    gateway = harness.store.services.gateway
    real = gateway.refund
    keys: list[str] = []
    faults = iter(["timeout", "reset", "500"])

    async def flaky(
        transaction_id: str, *, idempotency_key: str, metadata: dict[str, str]
    ) -> object:
        keys.append(idempotency_key)
        fault = next(faults, None)
        if fault == "500":
            raise ProcessorError("The processor answered 500", retryable=True)
        result = await real(transaction_id, idempotency_key=idempotency_key, metadata=metadata)
        if fault is not None:  # the processor did it, but the answer was lost
            raise ProcessorError(f"processor {fault}", retryable=True)
        return result

    gateway.refund = flaky  # type: ignore[method-assign]
    await harness.slack.command(staff, f"refund {txn.id}")
    modal = await opened_modal(harness.fake, staff, "modal")
    await harness.slack.submit(staff, modal, reason="Overcharged")
    parent = await harness.fake.wait_for(
        lambda: next(iter(harness.fake.messages(APPROVALS)), None), what="post"
    )
    await harness.slack.block_action(manager, "refund_approve", message=parent)

    async def pending() -> bool:
        harness.clock.advance(seconds=30)  # past each retry's back-off
        await harness.cycle()
        async with harness.store.sessions() as session:
            state = await session.scalar(
                select(RefundRequest.state).where(RefundRequest.transaction_id == txn.id)
            )
        return state == RefundState.PENDING.value

    await eventually(pending, what="refund pending after three faults")
    assert len(set(keys)) == 1 and len(keys) == 4, keys
    assert len((await harness.sandbox.show(txn.id))["refunds"]) == 1


async def test_a_processor_refusal_fails_the_request_and_tells_the_requester(
    harness: Harness,
) -> None:
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    txn = await harness.charge("12.00")

    async def refuse(*_args: object, **_kwargs: object) -> object:
        raise ProcessorError("The card issuer declined the refund", retryable=False)

    harness.store.services.gateway.refund = refuse  # type: ignore[method-assign]
    await harness.slack.command(staff, f"refund {txn.id}")
    modal = await opened_modal(harness.fake, staff, "modal")
    await harness.slack.submit(staff, modal, reason="Overcharged")
    parent = await harness.fake.wait_for(
        lambda: next(iter(harness.fake.messages(APPROVALS)), None), what="post"
    )
    await harness.slack.block_action(manager, "refund_approve", message=parent)
    dm = await harness.fake.wait_for(
        lambda: [m for m in harness.fake.messages(staff) if "failed" in m.text], what="failure DM"
    )
    assert "declined" in dm[-1].text
    assert (await harness.sandbox.show(txn.id))["refunds"] == []


async def test_slack_429_and_500_are_retried_and_nothing_is_posted_twice(harness: Harness) -> None:
    txn = await harness.charge()
    harness.fake.fail_next("chat.postMessage", times=2, retry_after=1)
    harness.fake.fail_next("chat.postMessage", error="internal_error", status=500, times=1)
    dispute = await harness.sandbox.dispute(txn.id)

    async def posted() -> bool:
        harness.clock.advance(seconds=5)  # past any back-off of the outbox
        await harness.cycle()
        return any(
            f"Chargeback {dispute.id}" in json.dumps(m.blocks or [])
            for m in harness.fake.messages(NOTIFY)
        )

    await eventually(posted, timeout=20, what="dispute posted through the faults")
    harness.clock.advance(minutes=10)
    await harness.cycle()
    assert len(harness.fake.messages(NOTIFY)) == 1


# A digit run inside a word is part of an id (Slack's trigger ids end in 32 hex digits, which
# now and then hold 13 decimal ones in a row that pass the Luhn check), not a card number.
LUHN_CANDIDATE = re.compile(r"(?<![\dA-Za-z])\d{13,19}(?![\dA-Za-z])")
SECRET_SHAPES = re.compile(r"xoxb-|xapp-|sk_live_|whsec_")


def leaks(text_: str) -> list[str]:
    """Card numbers in any spelling (the known ones, separators removed; any contiguous one) and
    secrets."""
    found = [m for m in LUHN_CANDIDATE.findall(text_) if luhn_valid(m)]
    found += [n for n in KNOWN if leaked(n, text_) and n not in found]
    found += SECRET_SHAPES.findall(text_)
    if SIGNING_SECRET in text_:
        found.append("signing secret")
    return found


def test_the_leak_scanner_finds_what_it_looks_for() -> None:
    assert leaks("card 4242424242424242 here") == ["4242424242424242"]
    assert leaks("4242424242424241") == []
    assert leaks("trigger:1.2.c01d2c42334372340912a06a") == []  # hex, not a card
    for spelled in SPELLED:
        assert leaks(spelled), spelled
    assert leaks(f"{BOT_TOKEN} and {SIGNING_SECRET}") == ["xoxb-", "signing secret"]


async def test_no_card_number_token_or_secret_reaches_slack_logs_or_the_database(
    harness: Harness,
) -> None:
    stream = io.StringIO()
    handler = configure(secrets_of(harness.bot.settings), level=logging.DEBUG, stream=stream)
    try:
        staff = await harness.user("sam", "staff")
        manager = await harness.user("meg", "manager")
        await harness.store.services.matters.put("MAT-1001", "Smith", ["lawyer@firm.com"])
        txn = await harness.charge("125.50", account=Account.TRUST)
        await harness.slack.command(staff, f"lookup {txn.id}")
        await harness.slack.command(staff, "lookup 4111111111111111")
        for spelled in SPELLED:  # every spelling, wherever a person can type it
            for command in ("lookup", "history", "audit", "users", "report", "nope"):
                await harness.slack.command(manager, f"{command} {spelled}")
        await harness.slack.command(staff, f"refund {txn.id}")
        modal = await opened_modal(harness.fake, staff, "modal")
        reason = "Card 4000056655665556 charged twice; " + "; ".join(SPELLED)
        await harness.slack.submit(staff, modal, reason=reason[:500])
        parent = await harness.fake.wait_for(
            lambda: next(iter(harness.fake.messages(APPROVALS)), None), what="post"
        )
        await harness.slack.block_action(manager, "refund_approve", message=parent)
        other = await harness.charge("10.00")
        await harness.sandbox.dispute(other.id)
        for _ in range(3):
            await harness.cycle()
        logging.getLogger("some.library").warning("calling Slack with token %s", BOT_TOKEN)
        logging.getLogger("some.library").warning("signing with %s", SIGNING_SECRET)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    slack = json.dumps(
        [c.params for c in harness.fake.calls] + [b for _, b in harness.fake.responses],
        ensure_ascii=False,
    )
    logs = stream.getvalue()
    # the values as logged, unescaped: an escaped no-break space or line break would hide a number
    logged = "\n".join(
        " ".join(str(v) for v in json.loads(line).values())
        for line in logs.splitlines()
        if line.startswith("{")
    )
    assert "[REDACTED]" in logs and logs.count("\n") > 50, logs[-2000:]
    async with harness.store.engine.connect() as conn:
        rows = []
        for table in Base.metadata.sorted_tables:
            rows += [
                json.dumps([str(v) for v in r], ensure_ascii=False)
                for r in (await conn.execute(select(table))).all()
            ]
    for where, found in (
        ("Slack payloads", leaks(slack)),
        ("logs", leaks(logs) + leaks(logged)),
        ("database", leaks("\n".join(rows))),
    ):
        assert found == [], f"{where}: {found}"
