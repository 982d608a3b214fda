"""The fake Slack's files as Slack has them: url_private gives the bytes to the bot token alone,
files.info needs files:read, a file_input's state carries file objects, and the Slack client lets
no one pick more files, or other types, than the element allows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.workspace.slack_api import FakeSlack, view_problems
from bot.workspace.view_state import state_values

TOKEN = "xoxb-files-test"
ALICE = "U0ALICE"
PDF = b"%PDF-1.4\n% a letter\n"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(TOKEN) as started:
        started.add_user(ALICE, "alice", "Alice Law", "alice@firm.test")
        started.add_channel("C0PAYMENTS", "payments")
        yield started


async def get(url: str, token: str | None) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as answer:
        return answer.status, answer.content_type, await answer.read()


async def test_url_private_gives_the_file_to_the_bot_token_alone(fake: FakeSlack) -> None:
    shared = fake.share_file(ALICE, "C0PAYMENTS", "letter.pdf", PDF)
    assert shared["mimetype"] == "application/pdf" and shared["size"] == len(PDF)
    for url in (shared["url_private"], shared["url_private_download"]):
        assert await get(url, TOKEN) == (200, "application/pdf", PDF)
    for token in (None, "xoxb-someone-else"):
        status, kind, body = await get(shared["url_private"], token)
        assert (status, kind) == (200, "text/html") and PDF not in body, "a sign-in page"
    fake.scopes.remove("files:read")
    assert (await get(shared["url_private"], TOKEN))[1] == "text/html"


async def test_files_info_needs_files_read_and_an_existing_file(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=fake.base_url)
    shared = fake.share_file(ALICE, "C0PAYMENTS", "letter.pdf", PDF)
    found = await client.files_info(file=shared["id"])
    assert found["file"]["name"] == "letter.pdf" and found["file"]["user"] == ALICE
    with pytest.raises(SlackApiError) as missing:
        await client.files_info(file="F0NOSUCH")
    assert missing.value.response["error"] == "file_not_found"
    fake.scopes.remove("files:read")
    with pytest.raises(SlackApiError) as scope:
        await client.files_info(file=shared["id"])
    assert scope.value.response["error"] == "missing_scope"


def file_modal(**element: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "respond",
        "title": {"type": "plain_text", "text": "Respond"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "documents",
                "label": {"type": "plain_text", "text": "Documents"},
                "element": {"type": "file_input", "action_id": "value", **element},
            }
        ],
    }


def test_a_file_input_takes_one_to_ten_files_of_the_given_types(fake: FakeSlack) -> None:
    assert view_problems(file_modal(max_files=11), home=False) == [
        "blocks[0].element.max_files must be 1 to 10"
    ]
    assert view_problems(file_modal(max_files=8, filetypes=["pdf"]), home=False) == []


async def test_file_input_state_carries_the_files_the_client_lets_through(fake: FakeSlack) -> None:
    modal = file_modal(max_files=2, filetypes=["pdf"])
    letter = fake.user_file(ALICE, "letter.pdf", PDF)
    state = state_values(modal, documents=[letter])
    assert state == {"documents": {"value": {"type": "file_input", "files": [letter]}}}
    with pytest.raises(ValueError, match="2 at most"):
        state_values(modal, documents=[letter, letter, letter])
    with pytest.raises(ValueError, match="filetypes"):
        state_values(modal, documents=[fake.user_file(ALICE, "setup.exe", b"MZ")])
