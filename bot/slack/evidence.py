"""A dispute response's documents as Slack holds them: the files picked in the Respond modal's
file_input, the files shared in the dispute's thread (conversations.replies, files.info), and their
bytes, downloaded once from ``url_private`` with the bot's token (Slack answers a request without
it with a sign-in page, not the file)."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.documents import (
    THREAD_BLOCK,
    UPLOADED_BLOCK,
    OfferedFile,
)
from bot.errors import FormErrors
from bot.usertext import visible

log = logging.getLogger("paybot.evidence")
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=20)


def offered(file: dict[str, Any], block_id: str) -> OfferedFile:
    return OfferedFile(
        slack_id=str(file.get("id") or ""),
        name=str(file.get("name") or file.get("title") or ""),
        size=int(file.get("size") or 0),
        url=str(file.get("url_private_download") or file.get("url_private") or ""),
        block_id=block_id,
    )


def uploaded_files(view: dict[str, Any]) -> list[OfferedFile]:
    """The file_input's files, as view_submission state carries them (``files``, each with id,
    name, mimetype, size and url_private). They are taken from the payload, which Slack signed:
    a file uploaded in a modal is shared nowhere, so files.info is not promised to find it."""
    state = ((view.get("state") or {}).get("values") or {}).get(UPLOADED_BLOCK) or {}
    files = (state.get("value") or {}).get("files") or []
    return [offered(f, UPLOADED_BLOCK) for f in files if isinstance(f, dict)]


async def thread_files(
    client: AsyncWebClient, channel: str | None, thread_ts: str | None
) -> list[OfferedFile]:
    """Files people shared in the dispute's thread (the bot's own uploads are its copies)."""
    if not channel or not thread_ts:
        return []
    try:
        page = await client.conversations_replies(channel=channel, ts=thread_ts, limit=200)
    except SlackApiError as error:  # a courtesy: the modal still takes uploads without it
        log.warning(
            "the files of thread %s in %s: %s", thread_ts, channel, error.response.get("error")
        )
        return []
    found: list[OfferedFile] = []
    for message in page.get("messages") or []:
        if message.get("bot_id"):
            continue
        found += [offered(f, THREAD_BLOCK) for f in message.get("files") or []]
    return found


async def picked_files(client: AsyncWebClient, view: dict[str, Any]) -> list[OfferedFile]:
    """The modal's files: those uploaded in it, then the thread's files ticked, read again with
    files.info (the option carried an id only, and the file may have changed or gone since the
    modal opened)."""
    state = ((view.get("state") or {}).get("values") or {}).get(THREAD_BLOCK) or {}
    ticked = (state.get("value") or {}).get("selected_options") or []
    found = uploaded_files(view)
    for option in ticked:
        answer = await client.files_info(file=str(option.get("value")))
        found.append(offered(answer["file"], THREAD_BLOCK))
    return found


async def download(client: AsyncWebClient, file: OfferedFile, most: int) -> bytes:
    """The file's bytes (at most ``most``), with the bot token as Slack requires."""
    headers = {"Authorization": f"Bearer {client.token}"}
    async with (
        aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as session,
        session.get(file.url, headers=headers, allow_redirects=False) as reply,
    ):
        if reply.status != 200 or reply.content_type.startswith("text/html"):
            raise FormErrors(
                {file.block_id: f"Slack did not give Paybot {visible(file.name)}; attach it again."}
            )
        content = await reply.content.read(most + 1)
    return content
