"""The files.* methods and the upload_url they hand out."""

from __future__ import annotations

import secrets

from aiohttp import web

from bot.workspace.params import required
from bot.workspace.records import (
    JSON,
    FakeFile,
    Message,
    SlackError,
)
from bot.workspace.state import Workspace


class FilesApi(Workspace):
    """files.getUploadURLExternal, the upload itself, completeUploadExternal."""

    async def _serve_upload(self, request: web.Request) -> web.Response:
        """The upload_url: Slack takes the raw bytes (or one multipart file) without a token."""
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="file_not_found", content_type="text/plain")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            parts = [v for v in form.values() if isinstance(v, web.FileField)]
            content = parts[0].file.read() if parts else b""
        else:
            content = await request.read()
        file.content = content
        self.changed()
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    def _files_get_upload_url(self, p: JSON) -> JSON:
        filename = required(p, "filename")
        try:
            length = int(required(p, "length"))
        except ValueError as e:
            raise SlackError("invalid_arguments", ["length must be an integer"]) from e
        file_id = "F" + secrets.token_hex(5).upper()
        self.files[file_id] = FakeFile(file_id, filename, length)
        return {"upload_url": f"{self._root()}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, p: JSON) -> JSON:
        entries = p.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments", ["files must be a JSON array of {id, title}"])
        files: list[FakeFile] = []
        for entry in entries:
            file = self.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if file is None or file.content is None:
                raise SlackError("file_not_found", [f"{entry} was not uploaded to its upload_url"])
            file.title = entry.get("title") or file.filename
            files.append(file)
        channel_ref = p.get("channel_id") or str(p.get("channels") or "").split(",")[0]
        channel = self._resolve(channel_ref) if channel_ref else None
        thread_ts = self._thread_root(channel.id, p.get("thread_ts")) if channel else None
        for file in files:
            file.channel_id = channel.id if channel else None
            file.thread_ts = thread_ts
            file.initial_comment = p.get("initial_comment")
            file.completed = True
        if channel is not None:
            self._messages.append(
                Message(
                    channel=channel.id,
                    ts=self._next_ts(),
                    text=str(p.get("initial_comment") or ""),
                    blocks=None,
                    thread_ts=thread_ts,
                    user=self.bot_user_id,
                    files=[f.id for f in files],
                )
            )
        return {"files": [self._file_json(f) for f in files]}

    def _files_upload_v1(self, p: JSON) -> JSON:
        """files.upload is retired; a bot still calling it would fail in Slack too."""
        raise SlackError("method_deprecated", ["use files_upload_v2"])
