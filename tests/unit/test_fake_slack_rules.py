"""Each rule of Slack's the fake enforces, shown refusing what Slack refuses (through the real
slack_sdk client, and a real WebSocket for Socket Mode). Time is the fake's own clock, moved by
hand, so no test here waits or measures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.workers.notifications import CARRIES, carried, metadata
from bot.workspace.sender import SlackSender, SlackWouldFail
from bot.workspace.slack_api import POST_BURST, FakeSlack

TOKEN = "xoxb-rules-test"
ALICE = "U0ALICE"
MODAL: dict[str, Any] = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Refund"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Refund *req_1*"}}],
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(TOKEN, monotonic=clock) as started:
        started.add_user(ALICE, "alice", "Alice Law", "alice@firm.test")
        started.add_channel("C0APPROVALS", "payments-approvals")
        yield started


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.base_url)


async def error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


# -- trigger_id and response_url ------------------------------------------------------------


async def test_a_trigger_id_opens_one_view_within_three_seconds(
    fake: FakeSlack, client: AsyncWebClient, clock: Clock
) -> None:
    late = fake.new_trigger_id(ALICE)
    clock.now += 3.5
    assert (await error_of(client.views_open(trigger_id=late, view=MODAL))).response[
        "error"
    ] == "expired_trigger_id"

    trigger = fake.new_trigger_id(ALICE)
    clock.now += 2.9
    await client.views_open(trigger_id=trigger, view=MODAL)
    for again in (client.views_open, client.views_push):
        error = await error_of(again(trigger_id=trigger, view=MODAL))
        assert error.response["error"] == "exchanged_trigger_id"
    error = await error_of(client.views_open(trigger_id="1.2.never-sent", view=MODAL))
    assert error.response["error"] == "invalid_trigger_id"
    assert len(fake.modal_stack(ALICE)) == 1


async def test_a_response_url_takes_five_posts_within_thirty_minutes(
    fake: FakeSlack, clock: Clock
) -> None:
    hook = AsyncWebhookClient(fake.response_url(channel="C0APPROVALS", user=ALICE))
    for i in range(5):
        clock.now += 60
        assert (await hook.send(text=f"post {i}")).status_code == 200
    sixth = await hook.send(text="sixth")
    assert sixth.status_code == 404 and json.loads(sixth.body)["error"] == "used_url"

    late = AsyncWebhookClient(fake.response_url(channel="C0APPROVALS", user=ALICE))
    clock.now += 30 * 60 + 1
    answer = await late.send(text="after half an hour")
    assert answer.status_code == 404 and json.loads(answer.body)["error"] == "expired_url"
    assert len(fake.ephemerals(ALICE)) == 5


# -- Socket Mode ---------------------------------------------------------------------------


async def test_apps_connections_open_takes_the_app_token_alone(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    error = await error_of(client.apps_connections_open(app_token=TOKEN))
    assert error.response["error"] == "not_allowed_token_type"
    error = await error_of(client.apps_connections_open(app_token="xapp-1-A0-1-wrong"))
    assert error.response["error"] == "invalid_auth"
    as_app = AsyncWebClient(token=fake.app_token, base_url=fake.base_url)
    assert (await error_of(as_app.auth_test())).response["error"] == "not_allowed_token_type"
    url = (await client.apps_connections_open(app_token=fake.app_token))["url"]
    assert url.startswith("ws://127.0.0.1:") and "/link/?ticket=" in url


async def test_the_socket_says_hello_pushes_envelopes_and_reads_acks(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    hub = fake.socket_mode
    url = (await client.apps_connections_open(app_token=fake.app_token))["url"]
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as socket:
            hello = await socket.receive_json()
            assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == fake.app_id

            pushed = asyncio.create_task(
                hub.push("slash_commands", {"command": "/pay"}, accepts_response_payload=True)
            )
            envelope = await socket.receive_json()
            assert envelope["type"] == "slash_commands" and envelope["accepts_response_payload"]
            assert envelope["payload"] == {"command": "/pay"}
            await socket.send_json({"envelope_id": "not-that-one"})
            await socket.send_json(
                {"envelope_id": envelope["envelope_id"], "payload": {"text": "ok"}}
            )
            ack = await pushed
            assert ack.acked and ack.payload == {"text": "ok"}
            assert hub.problems == [
                f"an ack for no pending envelope: {json.dumps({'envelope_id': 'not-that-one'})!r}"
            ]

            pushed = asyncio.create_task(
                hub.push("events_api", {"type": "event_callback"}, accepts_response_payload=False)
            )
            envelope = await socket.receive_json()
            assert envelope["retry_attempt"] == 0 and envelope["retry_reason"] == ""
            await socket.send_json({"envelope_id": envelope["envelope_id"], "payload": {"x": 1}})
            assert (await pushed).acked
            assert "acked with a payload" in hub.problems[-1], "events take no response payload"

    async with aiohttp.ClientSession() as http:
        reused = await http.get(url.replace("ws://", "http://"))
        assert reused.status == 401, "a ticket connects once"


async def test_an_envelope_not_acked_in_time_is_a_failure(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    hub = fake.socket_mode
    hub.ack_seconds = 0.05  # Slack's 3 s, shortened: the rule, not the clock, is under test
    url = (await client.apps_connections_open(app_token=fake.app_token))["url"]
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as socket:
        await socket.receive_json()
        ack = await hub.push(
            "interactive", {"type": "block_actions"}, accepts_response_payload=False
        )
    assert not ack.acked and hub.acks == [ack]
    with pytest.raises(RuntimeError, match="no Socket Mode connection"):
        await hub.push("interactive", {}, accepts_response_payload=False)


# -- message metadata ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ({"event_type": "paybot outbox!", "event_payload": {}}, "invalid_metadata_format"),
        ({"event_type": "paybot_outbox"}, "invalid_metadata_format"),
        (
            {"event_type": "paybot_outbox", "event_payload": {"keys": ["a", "b"]}},
            "invalid_metadata_schema",
        ),
        (
            {"event_type": "paybot_outbox", "event_payload": {"key": None}},
            "invalid_metadata_schema",
        ),
        (
            {"event_type": "x", "event_payload": {"deep": {"er": {"no": 1}}}},
            "invalid_metadata_schema",
        ),
    ],
)
async def test_metadata_outside_slacks_shape_is_refused(
    client: AsyncWebClient, given: dict[str, Any], error: str
) -> None:
    refused = await error_of(client.chat_postMessage(channel="C0GENERAL", text="x", metadata=given))
    assert refused.response["error"] == error


async def test_the_bots_outbox_metadata_is_accepted_and_read_back(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    given = metadata(CARRIES, ["stripe:evt_1", "stripe:evt_2"])
    await client.chat_postMessage(channel="C0GENERAL", text="x", metadata=given)
    [message] = (
        await client.conversations_history(channel="C0GENERAL", include_all_metadata=True)
    )["messages"]
    assert message["metadata"] == given
    assert carried(message, CARRIES) == {"stripe:evt_1", "stripe:evt_2"}
    [bare] = (await client.conversations_history(channel="C0GENERAL"))["messages"]
    assert "metadata" not in bare


# -- conversations.history / replies -------------------------------------------------------


async def test_history_and_replies_come_a_page_at_a_time(
    client: AsyncWebClient, clock: Clock
) -> None:
    for i in range(5):
        await client.chat_postMessage(channel="C0GENERAL", text=f"m{i}")
    clock.now += 10
    first = await client.conversations_history(channel="C0GENERAL", limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"]
    texts, cursor = [], first["response_metadata"]["next_cursor"]
    while cursor:
        page = await client.conversations_history(channel="C0GENERAL", limit=2, cursor=cursor)
        texts += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
    assert texts == ["m2", "m1", "m0"] and not page["has_more"]

    parent = await client.chat_postMessage(channel="C0GENERAL", text="parent")
    for i in range(3):
        await client.chat_postMessage(channel="C0GENERAL", text=f"r{i}", thread_ts=parent["ts"])
    page = await client.conversations_replies(channel="C0GENERAL", ts=parent["ts"], limit=3)
    assert [m["text"] for m in page["messages"]] == ["parent", "r0", "r1"] and page["has_more"]
    rest = await client.conversations_replies(
        channel="C0GENERAL",
        ts=parent["ts"],
        limit=3,
        cursor=page["response_metadata"]["next_cursor"],
    )
    assert [m["text"] for m in rest["messages"]] == ["r2"] and not rest["has_more"]
    bad = await error_of(client.conversations_history(channel="C0GENERAL", cursor="bm9wZQ=="))
    assert bad.response["error"] == "invalid_cursor"


async def test_history_where_the_bot_is_not_is_refused_as_slack_does(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.add_channel("C0PUBLIC", "elsewhere", is_member=False)
    fake.add_channel("C0PRIVATE", "board", is_private=True, is_member=False)
    cases = [
        (client.conversations_history(channel="C0PUBLIC"), "not_in_channel"),
        (client.conversations_history(channel="C0PRIVATE"), "channel_not_found"),
        (client.conversations_history(channel="C0NOWHERE"), "channel_not_found"),
        (client.conversations_history(channel="#general"), "channel_not_found"),
        (client.conversations_replies(channel="C0PUBLIC", ts="1.2"), "not_in_channel"),
        (client.conversations_replies(channel="C0PRIVATE", ts="1.2"), "channel_not_found"),
    ]
    for call, expected in cases:
        assert (await error_of(call)).response["error"] == expected


# -- rate limits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "per_minute"),
    [("users_list", 20), ("conversations_info", 50), ("users_info", 100)],
)
async def test_each_tier_allows_its_calls_a_minute_then_429s(
    client: AsyncWebClient, clock: Clock, method: str, per_minute: int
) -> None:
    params = {"users_info": {"user": ALICE}, "conversations_info": {"channel": "C0GENERAL"}}
    call = getattr(client, method)
    for _ in range(per_minute):
        clock.now += 0.1
        await call(**params.get(method, {}))
    limited = await error_of(call(**params.get(method, {})))
    assert limited.response.status_code == 429
    retry_after = int(limited.response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    clock.now += retry_after
    await call(**params.get(method, {}))


async def test_chat_post_message_about_one_a_second_per_channel(
    client: AsyncWebClient, clock: Clock
) -> None:
    for i in range(POST_BURST):
        await client.chat_postMessage(channel="C0GENERAL", text=f"burst {i}")
    limited = await error_of(client.chat_postMessage(channel="C0GENERAL", text="2"))
    assert limited.response.status_code == 429 and limited.response.headers["Retry-After"] == "1"
    await client.chat_postMessage(channel="C0APPROVALS", text="another channel may post")
    clock.now += 1
    await client.chat_postMessage(channel="C0GENERAL", text="a second later")


# -- views and Block Kit -------------------------------------------------------------------


async def test_views_update_with_a_stale_hash_is_a_hash_conflict(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    opened = (await client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=MODAL))["view"]
    updated = await client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    error = await error_of(
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    )
    assert error.response["error"] == "hash_conflict"
    await client.views_update(view_id=opened["id"], hash=updated["view"]["hash"], view=MODAL)


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([{"type": "divider"}] * 51, "more than 50"),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}],
            "more than 2000",
        ),
        ([section("a", "same"), section("b", "same")], "used twice"),
        ([section("")], "non-empty"),
    ],
)
async def test_messages_slack_would_refuse_are_invalid_blocks(
    client: AsyncWebClient, blocks: list[dict[str, Any]], problem: str
) -> None:
    error = await error_of(client.chat_postMessage(channel="C0GENERAL", text="x", blocks=blocks))
    assert error.response["error"] == "invalid_blocks"
    assert problem in " ".join(error.response["errors"])


@pytest.mark.filterwarnings("ignore::UserWarning")  # slack_sdk warns about the missing text
async def test_a_message_with_no_text_and_a_view_of_101_blocks_are_refused(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    error = await error_of(client.chat_postMessage(channel="C0GENERAL", text=""))
    assert error.response["error"] == "no_text"
    big = {**MODAL, "blocks": [{"type": "divider"}] * 101}
    error = await error_of(client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=big))
    assert error.response["error"] == "invalid_arguments"
    assert "more than 100" in " ".join(error.response["errors"])


async def test_the_sender_fails_an_answer_slack_would_show_as_an_error() -> None:
    """Slack shows the person an error when an interaction is not answered 200 within 3 s: the
    e2e sender fails the test that sent it, and keeps every answer it timed."""
    answers = {"status": 404, "delay": 0.0}

    async def events(request: web.Request) -> web.Response:
        await asyncio.sleep(answers["delay"])
        return web.Response(status=int(answers["status"]), text="unhandled request")

    app = web.Application()
    app.router.add_post("/slack/events", events)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with SlackSender(f"http://127.0.0.1:{port}", "secret", None, window=0.2) as sender:
        try:
            with pytest.raises(SlackWouldFail, match="answered 404"):
                await sender.command("U1", "lookup txn_1")
            answers.update(status=200, delay=0.4)
            with pytest.raises(SlackWouldFail, match=r"answered 200 after 0\.4"):
                await sender.command("U1", "lookup txn_1")
            answers.update(delay=0.0)
            await sender.command("U1", "lookup txn_1")  # 200 in time: no failure
        finally:
            await runner.cleanup()
    assert [a.status for a in sender.answers] == [404, 200, 200]
    assert sender.answers[1].seconds >= 0.4 > sender.answers[2].seconds
