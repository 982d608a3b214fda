"""The local Slack side checked against the real slack_sdk client and a real Bolt app: if these
pass, the bot's end-to-end tests talk to something shaped like Slack."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.workspace import FakeSlack, SlackError, SlackSender, sign, state_values

TOKEN = "xoxb-workspace-test"
SECRET = "workspace-signing-secret"
ALICE, BOB = "U0ALICE", "U0BOB"

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "refund_request",
    "private_metadata": "txn_1",
    "title": {"type": "plain_text", "text": "Refund"},
    "submit": {"type": "plain_text", "text": "Request"},
    "blocks": [
        {
            "type": "input",
            "block_id": "amount",
            "label": {"type": "plain_text", "text": "Amount"},
            "element": {"type": "plain_text_input", "action_id": "amount_input", "max_length": 12},
        },
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {
                "type": "static_select",
                "action_id": "reason_select",
                "options": [
                    {"text": {"type": "plain_text", "text": "Duplicate"}, "value": "duplicate"},
                    {"text": {"type": "plain_text", "text": "Fraud"}, "value": "fraudulent"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "approver",
            "optional": True,
            "label": {"type": "plain_text", "text": "Approver"},
            "element": {"type": "users_select", "action_id": "approver_select"},
        },
    ],
}


def button_blocks(action_id: str = "refund_approve", value: str = "req_1") -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Refund *req_1* pending"}},
        {
            "type": "actions",
            "block_id": "decision",
            "elements": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": value,
                    "style": "primary",
                }
            ],
        },
    ]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(TOKEN) as started:
        started.add_user(ALICE, "alice", "Alice Law", "alice@firm.test")
        started.add_user(BOB, "bob", "Bob Clerk", "Bob@Firm.test")
        started.add_channel("C0APPROVALS", "payments-approvals")
        yield started


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.base_url)


async def slack_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


# -- Web API -------------------------------------------------------------------------------


async def test_base_url_is_local_and_auth_test_names_the_bot(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/api/")
    me = await client.auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == ("T0PAYBOT", "U0PAYBOT", "B0PAYBOT")
    assert me["url"].startswith("https://")


async def test_wrong_or_missing_token_is_refused(fake: FakeSlack) -> None:
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=fake.base_url)
    assert (await slack_error(wrong.auth_test())).response["error"] == "invalid_auth"
    anonymous = AsyncWebClient(base_url=fake.base_url)
    assert (await slack_error(anonymous.auth_test())).response["error"] == "not_authed"
    assert [c.error for c in fake.calls_to("auth.test")] == ["invalid_auth", "not_authed"]
    assert all("token" not in c.params for c in fake.calls), "tokens must not be recorded"


async def test_unknown_method(client: AsyncWebClient) -> None:
    error = await slack_error(client.api_call("payments.refund"))
    assert error.response["error"] == "unknown_method"


async def test_post_update_and_thread(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(
        channel="C0APPROVALS", text="Refund pending", blocks=button_blocks()
    )
    assert posted["channel"] == "C0APPROVALS"
    assert posted["message"]["bot_id"] == "B0PAYBOT"
    ts = posted["ts"]

    updated = await client.chat_update(
        channel="C0APPROVALS", ts=ts, text="Refund approved", blocks=[]
    )
    assert updated["ts"] == ts and updated["text"] == "Refund approved"
    reply = await client.chat_postMessage(
        channel="C0APPROVALS", thread_ts=ts, text="Approved by Bob"
    )
    nested = await client.chat_postMessage(
        channel="C0APPROVALS", thread_ts=reply["ts"], text="Sent"
    )

    [top] = fake.messages("C0APPROVALS")
    assert (top.text, top.blocks, top.edited) == ("Refund approved", [], True)
    replies = fake.messages("C0APPROVALS", thread_ts=ts)
    assert [m.text for m in replies] == ["Approved by Bob", "Sent"]
    assert fake.message("C0APPROVALS", nested["ts"]).thread_ts == ts, (
        "a reply to a reply joins the thread"
    )

    thread = await client.conversations_replies(channel="C0APPROVALS", ts=ts)
    assert [m["text"] for m in thread["messages"]] == ["Refund approved", "Approved by Bob", "Sent"]
    assert thread["messages"][0]["reply_count"] == 2

    link = await client.chat_getPermalink(channel="C0APPROVALS", message_ts=ts)
    assert link["permalink"].endswith("/archives/C0APPROVALS/p" + ts.replace(".", ""))

    missing = await slack_error(client.chat_update(channel="C0APPROVALS", ts="1.000001", text="x"))
    assert missing.response["error"] == "message_not_found"
    await client.chat_delete(channel="C0APPROVALS", ts=reply["ts"])
    assert [m.text for m in fake.messages("C0APPROVALS", thread_ts=ts)] == ["Sent"]


async def test_form_encoded_blocks_are_decoded(fake: FakeSlack, client: AsyncWebClient) -> None:
    import json

    await client.api_call(
        "chat.postMessage",
        data={"channel": "C0GENERAL", "text": "hi", "blocks": json.dumps(button_blocks())},
    )
    [call] = fake.calls_to("chat.postMessage")
    assert call.params["blocks"] == button_blocks()
    assert fake.messages("C0GENERAL")[0].blocks == button_blocks()


async def test_posting_to_a_user_id_lands_in_their_dm(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=ALICE, text="Your refund was approved")
    assert posted["channel"].startswith("D")
    opened = await client.conversations_open(users=ALICE)
    assert opened["channel"]["id"] == posted["channel"] == fake.dm(ALICE)
    assert opened["already_open"] is True
    info = await client.conversations_info(channel=posted["channel"])
    assert info["channel"]["is_im"] is True and info["channel"]["user"] == ALICE
    assert [m.text for m in fake.messages(ALICE)] == ["Your refund was approved"]
    assert fake.dm(BOB) != fake.dm(ALICE)


@pytest.mark.filterwarnings("ignore::UserWarning")  # slack_sdk warns about the no_text call
async def test_slack_refusals(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.add_channel("C0PRIVATE", "board", is_private=True, is_member=False)
    cases = [
        (client.chat_postMessage(channel="C0NOWHERE", text="x"), "channel_not_found"),
        (client.chat_postMessage(channel="C0PRIVATE", text="x"), "not_in_channel"),
        (client.chat_postMessage(channel="C0GENERAL"), "no_text"),
        (client.chat_postMessage(channel="C0GENERAL", text="x" * 40001), "msg_too_long"),
        (client.conversations_open(users="U0NOBODY"), "user_not_found"),
        (client.files_upload(channels="C0GENERAL", content="x"), "method_deprecated"),
    ]
    for call, expected in cases:
        assert (await slack_error(call)).response["error"] == expected
    assert fake.all_messages() == []


async def test_blocks_slack_would_refuse_are_refused(client: AsyncWebClient) -> None:
    blocks = button_blocks()
    blocks[1]["elements"][0]["text"]["text"] = "A" * 76
    blocks.append({"type": "divider", "block_id": "decision"})
    error = await slack_error(client.chat_postMessage(channel="C0GENERAL", text="x", blocks=blocks))
    assert error.response["error"] == "invalid_blocks"
    problems = " ".join(error.response["errors"])
    assert "more than 75" in problems and "used twice" in problems
    too_many = [{"type": "divider"}] * 51
    error = await slack_error(
        client.chat_postMessage(channel="C0GENERAL", text="x", blocks=too_many)
    )
    assert error.response["error"] == "invalid_blocks"


async def test_ephemeral_messages(fake: FakeSlack, client: AsyncWebClient) -> None:
    sent = await client.chat_postEphemeral(
        channel="C0GENERAL", user=ALICE, text="Only you can see this"
    )
    [message] = fake.ephemerals(ALICE)
    assert message.ts == sent["message_ts"] and message.channel == "C0GENERAL"
    assert fake.messages("C0GENERAL", ephemeral=False) == []
    assert fake.messages("C0GENERAL", ephemeral=True) == [message]
    error = await slack_error(client.chat_update(channel="C0GENERAL", ts=message.ts, text="x"))
    assert error.response["error"] == "message_not_found", "chat.update cannot edit ephemerals"
    error = await slack_error(
        client.chat_postEphemeral(channel="C0GENERAL", user="U0NOBODY", text="x")
    )
    assert error.response["error"] == "user_not_found"


async def test_users_lookup_info_and_list(fake: FakeSlack, client: AsyncWebClient) -> None:
    found = await client.users_lookupByEmail(email="bob@firm.test")
    assert found["user"]["id"] == BOB and found["user"]["profile"]["email"] == "Bob@Firm.test"
    miss = await slack_error(client.users_lookupByEmail(email="nobody@firm.test"))
    assert miss.response["error"] == "users_not_found"
    info = await client.users_info(user=ALICE)
    assert info["user"]["real_name"] == "Alice Law" and info["user"]["is_bot"] is False
    assert (await slack_error(client.users_info(user="U0NOBODY"))).response[
        "error"
    ] == "user_not_found"

    ids = [m["id"] async for page in await client.users_list(limit=2) for m in page["members"]]
    assert ids == ["U0PAYBOT", ALICE, BOB]
    assert len(fake.calls_to("users.list")) == 2, "paged through next_cursor"


async def test_modal_open_update_push_and_stack(fake: FakeSlack, client: AsyncWebClient) -> None:
    trigger = fake.new_trigger_id(ALICE)
    opened = (
        await client.views_open(trigger_id=trigger, view={**MODAL, "external_id": "refund-txn_1"})
    )["view"]
    assert opened["id"].startswith("V") and opened["hash"]
    assert opened["callback_id"] == "refund_request" and opened["private_metadata"] == "txn_1"
    assert fake.top_modal(ALICE) == opened

    renamed = {**MODAL, "title": {"type": "plain_text", "text": "Refund txn_1"}}
    updated = (await client.views_update(view_id=opened["id"], view=renamed, hash=opened["hash"]))[
        "view"
    ]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    stale = await slack_error(
        client.views_update(view_id=opened["id"], view=MODAL, hash=opened["hash"])
    )
    assert stale.response["error"] == "hash_conflict"
    by_external = (await client.views_update(external_id="refund-txn_1", view=MODAL))["view"]
    assert by_external["id"] == opened["id"]

    pushed = (await client.views_push(trigger_id=fake.new_trigger_id(ALICE), view=MODAL))["view"]
    assert pushed["previous_view_id"] == opened["id"] and pushed["root_view_id"] == opened["id"]
    assert [v["id"] for v in fake.modal_stack(ALICE)] == [opened["id"], pushed["id"]]


async def test_submission_answers_update_push_and_clear_the_stack(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    opened = (await client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=MODAL))["view"]
    confirm = {**MODAL, "callback_id": "refund_confirm", "blocks": []}
    fake.after_submission(ALICE, opened["id"], {"response_action": "update", "view": confirm})
    [updated] = fake.modal_stack(ALICE)
    assert (updated["id"], updated["callback_id"]) == (opened["id"], "refund_confirm")
    fake.after_submission(ALICE, opened["id"], {"response_action": "push", "view": MODAL})
    assert [v["callback_id"] for v in fake.modal_stack(ALICE)] == [
        "refund_confirm",
        "refund_request",
    ]
    with pytest.raises(SlackError, match="invalid_arguments"):
        fake.after_submission(
            ALICE, opened["id"], {"response_action": "push", "view": {"type": "modal"}}
        )
    fake.after_submission(ALICE, opened["id"], {"response_action": "clear"})
    assert fake.modal_stack(ALICE) == []


async def test_views_refused_like_slack(fake: FakeSlack, client: AsyncWebClient) -> None:
    expired = fake.new_trigger_id(ALICE)
    fake.expired_triggers.add(expired)
    error = await slack_error(client.views_open(trigger_id=expired, view=MODAL))
    assert error.response["error"] == "expired_trigger_id"
    long_title = {
        **MODAL,
        "title": {"type": "plain_text", "text": "Request a refund for this payment"},
    }
    error = await slack_error(
        client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=long_title)
    )
    assert error.response["error"] == "invalid_arguments"
    assert "more than 24" in error.response["response_metadata"]["messages"][0]
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    error = await slack_error(
        client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=no_submit)
    )
    assert "submit is required" in " ".join(error.response["errors"])
    assert (await slack_error(client.views_update(view_id="V0NONE", view=MODAL))).response[
        "error"
    ] == "not_found"


async def test_home_published_per_user(fake: FakeSlack, client: AsyncWebClient) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi Alice"}}],
    }
    first = (await client.views_publish(user_id=ALICE, view=home))["view"]
    again = (await client.views_publish(user_id=ALICE, view=home, hash=first["hash"]))["view"]
    assert again["id"] == first["id"] and again["hash"] != first["hash"]
    assert fake.home_view(ALICE) == again and fake.home_view(BOB) is None
    stale = await slack_error(client.views_publish(user_id=ALICE, view=home, hash=first["hash"]))
    assert stale.response["error"] == "hash_conflict"
    wrong_type = await slack_error(client.views_publish(user_id=ALICE, view=MODAL))
    assert wrong_type.response["error"] == "invalid_arguments"


async def test_files_upload_v2_end_to_end(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0APPROVALS", text="Daily report")
    csv = b"transaction,amount\ntxn_1,125.50\n" * 1000
    done = await client.files_upload_v2(
        channel="C0APPROVALS",
        thread_ts=parent["ts"],
        content=csv,
        filename="report.csv",
        title="Settlement report",
        initial_comment="Today's settlement",
    )
    file_id = done["file"]["id"]
    stored = fake.files[file_id]
    assert stored.content == csv and stored.length == len(csv)
    assert (stored.title, stored.channel_id, stored.thread_ts) == (
        "Settlement report",
        "C0APPROVALS",
        parent["ts"],
    )
    assert stored.initial_comment == "Today's settlement" and stored.completed
    [shared] = fake.messages("C0APPROVALS", thread_ts=parent["ts"])
    assert shared.files == [file_id] and shared.text == "Today's settlement"

    unsent = await client.files_getUploadURLExternal(filename="x.csv", length=3)
    error = await slack_error(
        client.files_completeUploadExternal(files=[{"id": unsent["file_id"]}])
    )
    assert error.response["error"] == "file_not_found", "completing before the bytes arrive fails"


async def test_injected_429_is_retried_by_slack_sdk(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", retry_after=0)
    retrying = AsyncWebClient(
        token=TOKEN,
        base_url=fake.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    posted = await retrying.chat_postMessage(channel="C0GENERAL", text="after the limit")
    assert posted["ok"] is True
    assert [c.error for c in fake.calls_to("chat.postMessage")] == ["ratelimited", None]
    assert fake.rate_limited == 1
    assert [m.text for m in fake.messages("C0GENERAL")] == ["after the limit"]


async def test_injected_429_without_retry_shows_retry_after(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.fail_next("chat.postMessage", retry_after=7, times=2)
    for _ in range(2):
        error = await slack_error(client.chat_postMessage(channel="C0GENERAL", text="x"))
        assert error.response.status_code == 429
        assert error.response.headers["Retry-After"] == "7"
        assert error.response["error"] == "ratelimited"
    assert (await client.chat_postMessage(channel="C0GENERAL", text="x"))["ok"]


async def test_injected_server_error_and_plain_error(fake: FakeSlack) -> None:
    fake.fail_next("users.info", error="internal_error", status=500)
    retrying = AsyncWebClient(
        token=TOKEN, base_url=fake.base_url, retry_handlers=[AsyncServerErrorRetryHandler()]
    )
    assert (await retrying.users_info(user=ALICE))["user"]["id"] == ALICE
    fake.fail_next("chat.update", error="message_not_found", status=200)
    error = await slack_error(retrying.chat_update(channel="C0GENERAL", ts="1.1", text="x"))
    assert error.response.status_code == 200 and error.response["error"] == "message_not_found"


async def test_rate_limiter_per_channel_and_workspace(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    now = [1000.0]
    fake._monotonic = lambda: now[0]
    fake.rate_limit(per_channel_per_second=1.0, per_workspace_per_minute=3)
    await client.chat_postMessage(channel="C0GENERAL", text="1")
    error = await slack_error(client.chat_postMessage(channel="C0GENERAL", text="2"))
    assert error.response.status_code == 429 and error.response.headers["Retry-After"] == "1"
    await client.chat_postMessage(channel="C0APPROVALS", text="other channel is fine")
    now[0] += 1.0
    await client.chat_postMessage(channel="C0GENERAL", text="a second later")
    now[0] += 5.0
    error = await slack_error(
        client.chat_postMessage(channel="C0APPROVALS", text="4th in a minute")
    )
    assert error.response.headers["Retry-After"] == "54"
    assert fake.rate_limited == 2
    fake.rate_limit(None, None)
    await client.chat_postMessage(channel="C0APPROVALS", text="limiter off")


async def test_a_call_before_its_retry_after_is_noted(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """What a benchmark checks: every 429 honoured, per channel and for the whole workspace."""
    now = [1000.0]
    fake._monotonic = lambda: now[0]
    fake.rate_limit(per_channel_per_second=1.0, per_workspace_per_minute=2)
    await client.chat_postMessage(channel="C0GENERAL", text="1")
    await slack_error(client.chat_postMessage(channel="C0GENERAL", text="too soon"))
    await slack_error(client.chat_postMessage(channel="C0GENERAL", text="again too soon"))
    await client.chat_postMessage(channel="C0APPROVALS", text="another channel may post")
    assert [(e.method, e.scope) for e in fake.early_calls] == [("chat.postMessage", "C0GENERAL")]
    now[0] += 1.0
    error = await slack_error(client.chat_postMessage(channel="C0GENERAL", text="3rd"))
    assert error.response.headers["Retry-After"] == "59", "the workspace's minute is full"
    now[0] += 30
    await slack_error(client.chat_postMessage(channel="C0APPROVALS", text="any channel"))
    assert [(e.scope, round(e.early_by)) for e in fake.early_calls[1:]] == [("*", 29)]
    fake.rate_limit(None, None)
    fake.fail_next("users.info", retry_after=5)
    await slack_error(client.users_info(user=ALICE))
    now[0] += 5
    await client.users_info(user=ALICE)
    assert len(fake.early_calls) == 2, "waiting out the Retry-After is fine"


async def test_concurrent_posts_get_distinct_timestamps(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.rate_limit(None, None)  # twenty at once in one channel: timestamps, not limits, here
    posted = await asyncio.gather(
        *(client.chat_postMessage(channel="C0GENERAL", text=str(i)) for i in range(20))
    )
    assert len({p["ts"] for p in posted}) == 20
    assert sorted(m.ts for m in fake.messages("C0GENERAL")) == [
        m.ts for m in fake.messages("C0GENERAL")
    ]


async def test_response_url_posts(fake: FakeSlack, client: AsyncWebClient) -> None:
    original = await client.chat_postMessage(
        channel="C0APPROVALS", text="Refund pending", blocks=button_blocks()
    )
    url = fake.response_url(channel="C0APPROVALS", user=ALICE, message_ts=original["ts"])
    hook = AsyncWebhookClient(url)

    assert (await hook.send(text="Only Alice sees this")).status_code == 200
    [ephemeral] = fake.ephemerals(ALICE)
    assert ephemeral.channel == "C0APPROVALS" and ephemeral.text == "Only Alice sees this"

    await hook.send(text="Alice approved", response_type="in_channel")
    assert [m.text for m in fake.messages("C0APPROVALS", ephemeral=False)] == [
        "Refund pending",
        "Alice approved",
    ]

    await hook.send(text="Approved", blocks=[], replace_original=True)
    assert fake.message("C0APPROVALS", original["ts"]).text == "Approved"
    assert fake.message("C0APPROVALS", original["ts"]).edited

    await hook.send_dict({"delete_original": True})
    assert [m.text for m in fake.messages("C0APPROVALS", ephemeral=False)] == ["Alice approved"]
    assert [body for _, body in fake.responses][1]["response_type"] == "in_channel"
    await hook.send(text="fifth use", response_type="in_channel")

    assert (await hook.send(text="sixth use")).status_code == 404, "Slack allows five uses"
    gone = AsyncWebhookClient(url.rsplit("/", 1)[0] + "/unknown")
    assert (await gone.send(text="x")).status_code == 404


async def test_wait_for_returns_the_value_or_explains_the_timeout(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C0GENERAL", text="late")

    task = asyncio.create_task(post_later())
    messages = await fake.wait_for(lambda: fake.messages("C0GENERAL"), timeout=2)
    assert messages[0].text == "late"
    await task
    with pytest.raises(
        TimeoutError, match=r"a DM to Alice not met within 0.05s; .*chat.postMessage"
    ):
        await fake.wait_for(lambda: fake.messages(ALICE), timeout=0.05, what="a DM to Alice")


# -- signing -------------------------------------------------------------------------------


def test_sign_is_what_slack_sdk_verifies() -> None:
    body = "command=%2Fpay&text=help"
    verifier = SignatureVerifier(SECRET)
    headers = sign(body, SECRET)
    timestamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert signature.startswith("v0=")
    assert verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    assert not verifier.is_valid(body=body + "&x=1", timestamp=timestamp, signature=signature)
    forged = sign(body, "another-secret")
    assert not verifier.is_valid(
        body=body, timestamp=timestamp, signature=forged["X-Slack-Signature"]
    )
    stale = sign(body, SECRET, timestamp=int(time.time()) - 6 * 60)
    assert not verifier.is_valid(
        body=body,
        timestamp=stale["X-Slack-Request-Timestamp"],
        signature=stale["X-Slack-Signature"],
    )


def test_state_values_builds_what_slack_sends_and_refuses_the_impossible() -> None:
    values = state_values(MODAL, amount="12.50", reason="duplicate")
    assert values["amount"] == {"amount_input": {"type": "plain_text_input", "value": "12.50"}}
    assert values["reason"]["reason_select"]["selected_option"]["value"] == "duplicate"
    assert values["approver"] == {
        "approver_select": {"type": "users_select", "selected_user": None}
    }
    with pytest.raises(ValueError, match="not among the options"):
        state_values(MODAL, amount="1", reason="bored")
    with pytest.raises(ValueError, match="required input 'reason'"):
        state_values(MODAL, amount="1")
    with pytest.raises(ValueError, match="no input blocks"):
        state_values(MODAL, {"amount": "1", "reason": "duplicate", "amount_input": "1"})
    with pytest.raises(ValueError, match="outside"):
        state_values(MODAL, amount="1" * 13, reason="duplicate")


# -- SlackSender against a real Bolt app ------------------------------------------------------


def bolt_app(fake: FakeSlack, seen: list[dict[str, Any]]) -> AsyncApp:
    """A stand-in bot written with plain Bolt, so the payload shapes are Bolt's judgement."""
    app = AsyncApp(
        client=AsyncWebClient(token=TOKEN, base_url=fake.base_url), signing_secret=SECRET
    )

    @app.command("/pay")
    async def pay(ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        seen.append(body)
        await ack()
        if body["text"] == "refund":
            await client.views_open(trigger_id=body["trigger_id"], view=MODAL)
        else:
            await respond(text=f"you said {body['text']}")

    @app.action("refund_approve")
    async def approve(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        seen.append(body)
        await ack()
        await respond(text=f"approved {action['value']}", replace_original=True)

    @app.view("refund_request")
    async def submit(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        seen.append(body)
        amount = view["state"]["values"]["amount"]["amount_input"]["value"]
        if amount == "0":
            await ack(response_action="errors", errors={"amount": "Must be more than zero"})
        elif amount == "-1":
            await ack(response_action="errors", errors={"amount_input": "keyed by action_id"})
        else:
            await ack()

    @app.action(re.compile("^pick_"))
    async def pick(ack: Any, body: dict[str, Any]) -> None:
        seen.append(body)
        await ack()

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"Hello {event['user']}"}}]
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks})

    return app


@pytest.fixture
async def bolt(fake: FakeSlack) -> AsyncIterator[tuple[SlackSender, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    app = bolt_app(fake, seen)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    async with aiohttp.ClientSession() as session:
        yield SlackSender(f"http://{host}:{port}", SECRET, fake, session), seen
    await runner.cleanup()


async def test_command_reaches_bolt_and_respond_reaches_the_fake(
    fake: FakeSlack, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, seen = bolt
    reply = await sender.command(ALICE, "history", channel_id="C0APPROVALS")
    assert reply.status == 200
    assert (seen[0]["user_name"], seen[0]["channel_name"]) == ("alice", "payments-approvals")
    [message] = await fake.wait_for(lambda: fake.ephemerals(ALICE))
    assert message.text == "you said history" and message.channel == "C0APPROVALS"


async def test_refused_signatures(bolt: tuple[SlackSender, list[dict[str, Any]]]) -> None:
    sender, seen = bolt
    body = "command=%2Fpay&text=help&user_id=U0ALICE"
    assert (await sender.raw(body)).status == 401
    assert (await sender.raw(body, headers=sign(body, "wrong-secret"))).status == 401
    stale = sign(body, SECRET, timestamp=int(time.time()) - 6 * 60)
    assert (await sender.command(ALICE, "help", headers=stale)).status == 401
    assert seen == []


async def test_button_click_on_a_posted_message(
    fake: FakeSlack, client: AsyncWebClient, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, seen = bolt
    posted = await client.chat_postMessage(
        channel="C0APPROVALS", text="pending", blocks=button_blocks()
    )
    message = fake.message("C0APPROVALS", posted["ts"])
    with pytest.raises(LookupError, match="refund_reject"):
        await sender.block_action(BOB, "refund_reject", message=message)

    assert (await sender.block_action(BOB, "refund_approve", message=message)).status == 200
    action = seen[0]["actions"][0]
    assert (action["block_id"], action["value"], action["type"]) == ("decision", "req_1", "button")
    assert seen[0]["message"]["ts"] == posted["ts"] and seen[0]["channel"]["id"] == "C0APPROVALS"
    await fake.wait_for(lambda: fake.message("C0APPROVALS", posted["ts"]).edited)
    assert fake.message("C0APPROVALS", posted["ts"]).text == "approved req_1"


async def test_modal_opened_submitted_with_errors_then_closed(
    fake: FakeSlack, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, seen = bolt
    await sender.command(ALICE, "refund")
    view = await fake.wait_for(lambda: fake.top_modal(ALICE))

    refused = await sender.submit(ALICE, view, amount="0", reason="duplicate")
    assert refused.json == {
        "response_action": "errors",
        "errors": {"amount": "Must be more than zero"},
    }
    assert fake.top_modal(ALICE) == view, "a modal with errors stays open"
    submitted = seen[-1]["view"]
    assert (submitted["callback_id"], submitted["private_metadata"]) == ("refund_request", "txn_1")

    with pytest.raises(SlackError, match="input block_ids"):
        await sender.submit(ALICE, view, amount="-1", reason="duplicate")

    accepted = await sender.submit(
        ALICE, view["id"], amount="12.50", reason="fraudulent", approver=BOB
    )
    assert accepted.status == 200 and accepted.text == ""
    assert (
        seen[-1]["view"]["state"]["values"]["approver"]["approver_select"]["selected_user"] == BOB
    )
    assert fake.modal_stack(ALICE) == [], "an empty ack closes the modal"


async def test_app_home_opened_event(
    fake: FakeSlack, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, _ = bolt
    assert (await sender.app_home_opened(ALICE)).status == 200
    home = await fake.wait_for(lambda: fake.home_view(ALICE))
    assert home["blocks"][0]["text"]["text"] == f"Hello {ALICE}"


def options(*values: str) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": v.title()}, "value": v} for v in values]


PICKS: list[dict[str, Any]] = [
    {
        "type": "actions",
        "block_id": "picks",
        "elements": [
            {"type": "users_select", "action_id": "pick_user"},
            {"type": "datepicker", "action_id": "pick_date"},
            {"type": "checkboxes", "action_id": "pick_boxes", "options": options("a", "b")},
            {"type": "overflow", "action_id": "pick_more", "options": options("a", "b")},
            {"type": "static_select", "action_id": "pick_one", "options": options("a", "b")},
        ],
    }
]


async def test_picks_travel_in_slacks_own_shapes(
    fake: FakeSlack, client: AsyncWebClient, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, seen = bolt
    parent = await client.chat_postMessage(channel="C0APPROVALS", text="parent")
    posted = await client.chat_postMessage(
        channel="C0APPROVALS", text="picks", blocks=PICKS, thread_ts=parent["ts"]
    )
    message = fake.message("C0APPROVALS", posted["ts"])
    for action_id, picked in (
        ("pick_user", ALICE),
        ("pick_date", "2026-11-20"),
        ("pick_boxes", ["a", "b"]),
        ("pick_more", "b"),
        ("pick_one", "a"),
    ):
        reply = await sender.block_action(BOB, action_id, message=message, selected_option=picked)
        assert reply.status == 200, action_id
    actions = [body["actions"][0] for body in seen]
    assert [a["type"] for a in actions] == [
        "users_select",
        "datepicker",
        "checkboxes",
        "overflow",
        "static_select",
    ]
    assert actions[0]["selected_user"] == ALICE
    assert actions[1]["selected_date"] == "2026-11-20"
    assert [o["value"] for o in actions[2]["selected_options"]] == ["a", "b"]
    assert actions[3]["selected_option"]["value"] == "b"
    assert actions[4]["selected_option"] == options("a")[0]
    assert seen[0]["container"]["thread_ts"] == parent["ts"], "a click in a thread says so"
    with pytest.raises(ValueError, match="not among the options"):
        await sender.block_action(BOB, "pick_one", message=message, selected_option="z")


async def test_a_click_is_on_the_element_named_by_block_id_or_value(
    fake: FakeSlack, client: AsyncWebClient, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, seen = bolt
    rows = [
        {"type": "actions", "elements": [button("pick_edit", "ada")]},
        {"type": "actions", "block_id": "row_vic", "elements": [button("pick_edit", "vic")]},
    ]
    posted = await client.chat_postMessage(channel="C0APPROVALS", text="rows", blocks=rows)
    message = fake.message("C0APPROVALS", posted["ts"])
    await sender.block_action(BOB, "pick_edit", "vic", message=message)
    await sender.block_action(BOB, "pick_edit", message=message, block_id="row_vic")
    await sender.block_action(BOB, "pick_edit", message=message)
    assert [b["actions"][0]["value"] for b in seen] == ["vic", "vic", "ada"]
    assert seen[0]["actions"][0]["block_id"] == "row_vic"


def button(action_id: str, value: str) -> dict[str, Any]:
    text = {"type": "plain_text", "text": value}
    return {"type": "button", "action_id": action_id, "value": value, "text": text}


async def test_slash_command_answers_shown_as_the_slack_client_shows_them(
    fake: FakeSlack,
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    ephemeral = fake.show_command_answer(
        "/pay", "C0GENERAL", ALICE, 200, json.dumps({"text": "hi", "blocks": blocks})
    )
    assert ephemeral is not None
    assert (ephemeral.ephemeral_to, ephemeral.user, ephemeral.blocks) == (
        ALICE,
        fake.bot_user_id,
        blocks,
    )
    shared = fake.show_command_answer(
        "/pay", "C0GENERAL", ALICE, 200, json.dumps({"response_type": "in_channel", "text": "x"})
    )
    assert shared is not None and shared.ephemeral_to is None
    plain = fake.show_command_answer("/pay", "C0GENERAL", ALICE, 200, "plain words")
    assert plain is not None and plain.text == "plain words" and plain.ephemeral_to == ALICE
    assert fake.show_command_answer("/pay", "C0GENERAL", ALICE, 200, "") is None
    failed = fake.show_command_answer("/pay", "C0GENERAL", ALICE, 500, "boom")
    assert failed is not None and failed.user == "USLACKBOT"
    assert failed.text == '/pay failed with the error "http_service_error"'
    invalid = fake.show_command_answer("/pay", "C0GENERAL", ALICE, 200, json.dumps({"text": ""}))
    assert invalid is not None and invalid.text == '/pay failed with the error "no_text"'


async def test_people_post_and_every_change_moves_the_revision(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    before = fake.revision
    parent = fake.post_as_user(ALICE, "general", "morning")
    assert fake.revision > before
    reply = fake.post_as_user(BOB, "C0GENERAL", "hello", thread_ts=parent.ts)
    nested = fake.post_as_user(ALICE, "C0GENERAL", "again", thread_ts=reply.ts)
    assert (reply.thread_ts, nested.thread_ts) == (parent.ts, parent.ts)
    assert fake.message_json(parent)["reply_count"] == 2
    with pytest.raises(SlackError, match="user_not_found"):
        fake.post_as_user("U0NOBODY", "C0GENERAL", "hi")
    with pytest.raises(SlackError, match="no_text"):
        fake.post_as_user(ALICE, "C0GENERAL", "   ")
    before = fake.revision
    await client.auth_test()
    assert fake.revision == before + 1
