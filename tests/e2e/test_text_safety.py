"""Card numbers echoed nowhere, text that cannot pass for the bot's, no 500 for any body, and an
audit log that never claims one decision twice (issue 16)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.db.base import Base
from bot.db.models import AuditEntry, ProcessorEventRow, RefundRequest
from bot.domain import MethodType
from bot.logs import configure, request_id, secrets_of
from bot.processors.sandbox.models import SandboxEvent
from bot.workspace.sender import Reply
from bot.workspace.signing import sign
from bot.workspace.slack_api import Message
from tests.card_numbers import CVVS, KNOWN, card_numbers, leaked, shown_as_its_own, spellings
from tests.conftest import (
    APPROVALS,
    NOTIFY,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    Harness,
    eventually,
    opened_modal,
)

SPELLINGS = [
    "4111.1111.1111.1111",
    "4111  1111  1111  1111",
    "4111\u00a01111\u00a01111\u00a01111",
    "4111\u200b1111\u200b1111\u200b1111",
    "5555/5555/5555/4444 12/29",
    "4012_8888_8888_1881 123",
    "invoice 2 6011111111111117",
]


async def everything(harness: Harness) -> str:
    """What Slack was sent (Web API calls, response_url posts) and every row of every table."""
    slack = json.dumps(
        [c.params for c in harness.fake.calls] + [b for _, b in harness.fake.responses],
        ensure_ascii=False,
    )
    rows = []
    async with harness.store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in (await conn.execute(select(table))).all():
                rows.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return slack + "\n" + "\n".join(rows)


def shown(answer: Reply) -> str:
    return answer.text if answer.json is None else json.dumps(answer.json, ensure_ascii=False)


def no_card_in(text: str) -> None:
    assert [n for n in KNOWN if leaked(n, text)] == [], text[:500]


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        ("audit", None),
        ("users", None),
        ("report", None),
        ("lookup", "looks like a card number"),
        ("history", "looks like a card number"),
    ],
)
async def test_a_card_number_is_never_echoed_or_stored(
    harness: Harness, command: str, refusal: str | None
) -> None:
    admin = await harness.user("ada", "admin")
    await harness.charge()
    for spelled in SPELLINGS:
        answer = await harness.slack.command(admin, f"{command} {spelled}")
        assert answer.status == 200
        no_card_in(shown(answer))
        if refusal:
            assert refusal in shown(answer), shown(answer)
        else:
            assert "••••" in shown(answer) or command == "report", shown(answer)
    await harness.cycle()
    no_card_in(await everything(harness))


async def test_the_history_search_shows_what_was_searched_masked(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    await harness.charge(customer_name="Dana Client")
    answer = await harness.slack.command(staff, "history Dana 4111 1111 1111 1111")
    assert "card number" in shown(answer)
    no_card_in(shown(answer))
    no_card_in(await everything(harness))


async def test_like_wildcards_match_themselves(harness: Harness) -> None:
    admin = await harness.user("ada", "admin")
    await harness.user("sam", "staff")
    for wildcard in ("%", "_", "s%m"):
        answer = shown(await harness.slack.command(admin, f"users {wildcard}"))
        assert "*sam*" not in answer, (wildcard, answer)
    assert "*sam*" in shown(await harness.slack.command(admin, "users sa"))


def mrkdwn_lines(message: Message) -> list[str]:
    """Every line of the message's mrkdwn: its text and each mrkdwn text object in its blocks."""
    texts = [message.text or ""]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                texts.append(str(node.get("text") or ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.blocks or [])
    return [line for text in texts for line in text.split("\n")]


SPOOF = "Overpaid\n*Status:* ✅ Approved by Mia Manager\n```\n<!channel> *Refunded*"


async def test_a_reason_cannot_pass_for_the_bots_own_lines(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    txn = await harness.charge()
    await harness.slack.command(staff, f"refund {txn.id}")
    modal = await opened_modal(harness.fake, staff)
    await harness.slack.submit(staff, modal, reason=SPOOF)
    parent = await harness.fake.wait_for(
        lambda: next(iter(harness.fake.messages(APPROVALS)), None), what="approval message"
    )
    await harness.slack.block_action(manager, "refund_approve", message=parent)
    dms = await harness.fake.wait_for(
        lambda: [m for m in harness.fake.messages(staff) if "submitted" in m.text], what="DM"
    )
    replies = await harness.fake.wait_for(
        lambda: [
            m
            for m in harness.fake.messages(APPROVALS, thread_ts=parent.ts)
            if "submitted" in m.text
        ],
        what="thread reply",
    )
    approval = harness.fake.message(APPROVALS, parent.ts)
    for message in (parent, approval, *dms, *replies):
        lines = mrkdwn_lines(message)
        spoofed = [line for line in lines if "Approved by Mia Manager" in line]
        assert spoofed, lines
        assert all(line.startswith(">") for line in spoofed), spoofed
        assert all(line.startswith(">") for line in lines if "Refunded" in line and "&lt;" in line)
        assert not any("```" in line for line in lines), lines
        assert not any("<!channel>" in line for line in lines)


async def test_invisible_reasons_are_field_errors(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge()
    await harness.slack.command(staff, f"refund {txn.id}")
    modal = await opened_modal(harness.fake, staff)
    for reason in ("\u200b\u200b\u2800", "\u202e \u2066\u3164", "\x00\x07"):
        state = {"reason": {"value": {"type": "plain_text_input", "value": reason}}}
        answer = await harness.slack.view_submission(staff, modal, state)
        assert answer.json["response_action"] == "errors", (reason, answer.json)
    answer = await harness.slack.submit(staff, modal, reason="Paid \u202etwice\u202c\x07")
    parent = await harness.fake.wait_for(
        lambda: next(iter(harness.fake.messages(APPROVALS)), None), what="approval message"
    )
    shown = json.dumps(parent.blocks, ensure_ascii=False)
    assert "Paid twice" in shown and "\u202e" not in shown and "\x07" not in shown


async def test_a_hostile_return_code_pings_nobody(harness: Harness) -> None:
    txn = await harness.charge("80.00", method=MethodType.ACH, brand=None, last4="6789")
    await harness.sandbox.return_payment(txn.id, code="R01")
    async with harness.store.sessions.begin() as session:  # the processor's own text, hostile
        for row in (await session.scalars(select(SandboxEvent))).all():
            row.data = {**row.data, "code": "<!channel> <https://evil.test|Approve> *R01*\nhi"}
    await eventually(
        lambda: _cycled(harness, lambda: harness.fake.messages(NOTIFY)), what="return posted"
    )
    for message in harness.fake.messages(NOTIFY):
        assert "<!channel>" not in message.text and "<https://" not in message.text
        assert "&lt;!channel&gt;" in message.text, message.text
        assert "\n" not in message.text
        assert "<!channel>" not in json.dumps(message.blocks)


async def _cycled(harness: Harness, check: Any) -> Any:
    await harness.cycle()
    return check()


async def test_twenty_concurrent_accepts_are_audited_once_and_refused_nineteen_times(
    harness: Harness,
) -> None:
    managers = [await harness.user(f"boss{i}", "manager") for i in range(4)]
    txn = await harness.charge()
    dispute = await harness.sandbox.dispute(txn.id)
    await eventually(
        lambda: _cycled(harness, lambda: harness.fake.messages(NOTIFY)), what="dispute posted"
    )
    [parent] = harness.fake.messages(NOTIFY)
    replies = await asyncio.gather(
        *(
            harness.slack.block_action(managers[i % 4], "dispute_accept", message=parent)
            for i in range(20)
        )
    )
    assert all(r.status == 200 for r in replies)

    async def audited() -> list[AuditEntry]:
        """The clicks are acked first and recorded after: wait for all twenty rows."""
        await harness.cycle()
        async with harness.store.sessions() as session:
            found = (
                await session.scalars(
                    select(AuditEntry).where(
                        AuditEntry.action == "accept_dispute", AuditEntry.target_id == dispute.id
                    )
                )
            ).all()
        return list(found) if len(found) >= 20 else []

    rows = await eventually(audited, what="twenty accepts audited")
    assert isinstance(rows, list) and len(rows) == 20
    done = [r for r in rows if r.outcome == "done"]
    refused = [r for r in rows if r.outcome == "denied"]
    assert len(done) == 1 and len(refused) == 19, [(r.outcome, r.reason) for r in rows]
    assert all("already accepted" in (r.reason or "") for r in refused)


# -- no 500 for any body ------------------------------------------------------------------------

DEEP = 10_000


def bodies() -> dict[str, tuple[str, str]]:
    deep_array = "[" * DEEP + "]" * DEEP
    deep_object = '{"a":' * DEEP + "1" + "}" * DEEP
    payload = (
        json.dumps({"type": "block_actions", "actions": []})[:-1] + ', "x": ' + deep_array + "}"
    )
    return {
        "json array": (deep_array, "application/json"),
        "json object": (deep_object, "application/json"),
        "json event": (
            '{"type": "event_callback", "event": ' + deep_object + "}",
            "application/json",
        ),
        "form payload": (
            "payload=" + quote(payload, safe=""),
            "application/x-www-form-urlencoded",
        ),
        "form payload array": (
            "payload=" + quote(deep_array, safe=""),
            "application/x-www-form-urlencoded",
        ),
        # a charset nobody knows: aiohttp's request.text() raises LookupError on it
        "form payload, unknown charset": (
            "payload=" + quote(payload, safe=""),
            "application/x-www-form-urlencoded; charset=rot13",
        ),
        "shallow form, unknown charset": (
            "payload=" + quote('{"type": "shortcut", "callback_id": ', safe=""),
            "application/x-www-form-urlencoded; charset=rot13",
        ),
        # a click naming no action: Bolt's kwargs for a function middleware took actions[0]
        # (the gate is a class, so it is now an unhandled request, answered 200 politely)
        "no actions": (
            "payload=" + quote(json.dumps({"type": "block_actions", "actions": []}), safe=""),
            "application/x-www-form-urlencoded",
        ),
    }


class PerRequest(logging.Handler):
    """The log records written while a request with a given X-Request-Id was handled."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: dict[str, list[logging.LogRecord]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.records.setdefault(request_id.get(), []).append(record)


def signed_webhook(body: str, harness: Harness) -> dict[str, str]:
    stamp = int(harness.clock().timestamp())
    digest = hmac.new(
        WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body.encode(), hashlib.sha256
    ).hexdigest()
    return {"Paybot-Signature": f"t={stamp},v1={digest}"}


async def test_bodies_nested_ten_thousand_deep_get_a_4xx_and_one_log_line(
    harness: Harness,
) -> None:
    captured = PerRequest()
    root = logging.getLogger()
    root.addHandler(captured)
    old_level = root.level
    root.setLevel(logging.INFO)
    routes = ["/slack/events", "/webhooks/sandbox", "/webhooks/stripe", "/healthz", "/metrics"]
    answers: list[tuple[str, str, bool, int]] = []
    try:
        async with aiohttp.ClientSession() as http:
            for route in routes:
                for name, (body, content_type) in bodies().items():
                    for signed in (False, True):
                        headers = {"Content-Type": content_type}
                        if signed:
                            headers |= (
                                sign(body, SIGNING_SECRET)
                                if route == "/slack/events"
                                else signed_webhook(body, harness)
                            )
                        rid = f"deep{len(answers)}"
                        headers["X-Request-Id"] = rid
                        async with http.post(
                            harness.url + route, data=body.encode(), headers=headers
                        ) as answer:
                            await answer.read()
                            answers.append((route, name, signed, answer.status))
                        records = captured.records.get(rid, [])
                        assert len(records) == 1, (route, name, signed, records)
                        assert records[0].exc_info is None
    finally:
        root.removeHandler(captured)
        root.setLevel(old_level)
    polite = ("/slack/events", "no actions", True, 200)  # signed: "Paybot does not offer that"
    assert [a for a in answers if not 400 <= a[-1] < 500 and a != polite] == [], "a 4xx for each"
    expected = {("/slack/events", False): 401, ("/slack/events", True): 400}
    for route, name, signed, status in answers:
        if route == "/slack/events" and (route, name, signed, status) != polite:
            assert status == expected[(route, signed)]
    async with harness.store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessorEventRow)) == 0


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ({"created_at": "2026-11-16T15:00:00"}, "timezone"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"type": "dispute.maybe"}, "type"),
        ({"id": ""}, "id"),
        ({"id": None}, "id"),
        ({"data": [1, 2]}, "data"),
        ({"data": {"a": json.loads("[" * 70 + "]" * 70)}}, "nested deeper than 64"),
        ({"id": "e" * 101}, "id: String should have at most 100 characters"),
        ({"object_id": "d" * 101}, "object_id: String should have at most 100 characters"),
        ({"id": "evt\x001"}, "id: Value error, control or invisible"),
        ({"object_id": "dp_1\u202e"}, "object_id: Value error, control or invisible"),
        ({"object_id": "dp\U000e0020_1"}, "object_id: Value error, control or invisible"),
    ],
)
async def test_every_malformed_webhook_field_is_a_400_with_the_reason(
    harness: Harness, event: dict[str, Any], why: str
) -> None:
    status, answer = await post_event(harness, event)
    assert status == 400, answer
    assert why in answer["error"]
    async with harness.store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessorEventRow)) == 0


async def post_event(harness: Harness, event: dict[str, Any]) -> tuple[int, Any]:
    """A signed sandbox webhook of one event: a good one with `event`'s fields in; its answer."""
    good = {
        "id": "evt_1",
        "type": "dispute.created",
        "object_id": "dp_1",
        "created_at": "2026-11-16T15:00:00+00:00",
        "data": {},
    }
    body = json.dumps({"events": [{**good, **event}]})
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{harness.url}/webhooks/sandbox",
            data=body.encode(),
            headers={"Content-Type": "application/json", **signed_webhook(body, harness)},
        ) as answer:
            return answer.status, await answer.json()


async def test_a_card_number_in_an_event_id_is_stored_masked(harness: Harness) -> None:
    event = {"id": "evt_4111.1111.1111.1111", "object_id": "dp 5555 5555 5555 4444"}
    status, answer = await post_event(harness, event | {"type": "dispute.updated"})
    assert status == 200, answer
    async with harness.store.sessions() as session:
        row = (await session.scalars(select(ProcessorEventRow))).one()
    assert (row.event_id, row.object_id) == ("evt_[Visa •••• 1111]", "dp [Mastercard •••• 4444]")
    await harness.cycle()
    no_card_in(await everything(harness))


async def test_a_response_url_off_slack_is_refused(harness: Harness) -> None:
    admin = await harness.user("ada", "admin")
    for url in (
        "https://evil.test/hooks",
        "http://hooks.slack.com/x",
        "https://hooks.slack.com.evil.test/x",
    ):
        form = {
            "command": "/pay",
            "text": "history",
            "user_id": admin,
            "team_id": "T0PAYBOT",
            "trigger_id": f"1.2.{len(url)}",
            "response_url": url,
        }
        body = urlencode(form)
        answer = await harness.slack.raw(
            body, "application/x-www-form-urlencoded", sign(body, SIGNING_SECRET)
        )
        assert answer.status == 400, (url, answer.text)
    assert harness.fake.responses == []


# -- the guard, end to end: generated numbers in every spelling, embedded in random text ---------

PROSE = st.text(
    st.characters(blacklist_categories=("Nd", "Cs", "Cc")) | st.sampled_from(" .-/\n"),
    max_size=30,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), before=PROSE, after=PROSE)
async def test_no_generated_card_number_survives_anywhere(
    harness: Harness, data: st.DataObject, before: str, after: str
) -> None:
    number = data.draw(card_numbers())
    spelled = data.draw(spellings(number))
    cvv = data.draw(st.sampled_from(CVVS))
    text_ = f"{before} {spelled}{cvv} {after}"
    users = {"sam": "staff", "meg": "manager"}
    for name, role in users.items():
        if not (await harness.store.services.users.search(name)).users:
            await harness.user(name, role)
    staff, manager = "USAM", "UMEG"
    stream = io.StringIO()
    handler = configure(secrets_of(harness.bot.settings), level=logging.DEBUG, stream=stream)
    sent: list[dict[str, str]] = []
    gateway = harness.store.services.gateway
    real = gateway.refund

    async def recorded(
        transaction_id: str, *, idempotency_key: str, metadata: dict[str, str]
    ) -> Any:
        sent.append(dict(metadata))
        return await real(transaction_id, idempotency_key=idempotency_key, metadata=metadata)

    gateway.refund = recorded  # type: ignore[method-assign]
    try:
        txn = await harness.charge()
        await harness.slack.command(staff, f"history {text_}")
        await harness.slack.command(staff, f"refund {txn.id}")
        modal = await harness.fake.wait_for(
            lambda: next(
                (m for m in [harness.fake.top_modal(staff)] if m and txn.id in json.dumps(m)),
                None,
            ),
            what="this payment's refund modal",
        )
        await harness.slack.submit(staff, modal, reason=f"refund {text_}"[:500])
        parent = await harness.fake.wait_for(
            lambda: next(
                (m for m in harness.fake.messages(APPROVALS) if txn.id in json.dumps(m.blocks)),
                None,
            ),
            what="approval message",
        )
        await harness.slack.block_action(manager, "refund_approve", message=parent)
        await eventually(lambda: _cycled(harness, lambda: sent), what="refund sent")
    finally:
        gateway.refund = real  # type: ignore[method-assign]
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    logged = "\n".join(
        " ".join(str(v) for v in json.loads(line).values())
        for line in stream.getvalue().splitlines()
        if line.startswith("{")
    )
    for where, found in (
        ("Slack payloads and tables", await everything(harness)),
        ("DEBUG logs", logged + stream.getvalue()),
        ("processor requests", json.dumps(sent, ensure_ascii=False)),
    ):
        assert not leaked(number, found), (where, text_)
    async with harness.store.sessions() as session:
        reason = await session.scalar(
            select(RefundRequest.reason).where(RefundRequest.transaction_id == txn.id)
        )
    assert reason is not None and shown_as_its_own(number, cvv, reason), (text_, reason)
