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
    """files.getUploadURLExternal, the upload itself, completeUploadExternal; files.info and
    the files' url_private, which give the bytes to the bot token alone."""

    # -- what people do in the Slack client ---------------------------------------------------
    def user_file(self, user_id: str, filename: str, content: bytes) -> JSON:
        """A file a person uploads in a modal's file_input: Slack stores it (shared nowhere)
        and the view_submission state carries its file object, which this returns."""
        if user_id not in self.users:
            raise SlackError("user_not_found")
        file_id = "F" + secrets.token_hex(5).upper()
        file = FakeFile(file_id, filename, len(content), content=content, user=user_id)
        file.completed = True
        self.files[file_id] = file
        return self._file_json(file)

    def share_file(
        self,
        user_id: str,
        channel: str,
        filename: str,
        content: bytes,
        thread_ts: str | None = None,
    ) -> JSON:
        """A person drops a file into a conversation (a thread, with ``thread_ts``)."""
        shared = self.user_file(user_id, filename, content)
        channel_id = self._resolve(channel).id
        root = self._thread_root(channel_id, thread_ts)
        file = self.files[shared["id"]]
        file.channel_id, file.thread_ts = channel_id, root
        self._messages.append(
            Message(
                channel=channel_id,
                ts=self._next_ts(),
                text="",
                blocks=None,
                thread_ts=root,
                user=user_id,
                files=[file.id],
            )
        )
        self.changed()
        return self._file_json(file)

    # -- the Web API ---------------------------------------------------------------------------
    def _files_info(self, p: JSON) -> JSON:
        """files.info: needs files:read, as Slack's method page says."""
        if "files:read" not in self.scopes:
            raise SlackError("missing_scope", ["files:read"])
        file = self.files.get(required(p, "file"))
        if file is None or not file.completed:
            raise SlackError("file_not_found")
        return {"file": self._file_json(file), "comments": [], "response_metadata": {}}

    async def _serve_private(self, request: web.Request) -> web.Response:
        """url_private(_download): the bytes for ``Authorization: Bearer`` with the bot token
        (and files:read); anything else gets the sign-in page Slack answers with, not the file."""
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        self.file_downloads.append((request.match_info["file_id"], bool(token)))
        signin = web.Response(
            status=200, text="<html><body>Sign in to Slack</body></html>", content_type="text/html"
        )
        if not token or not secrets.compare_digest(token, self.bot_token):
            return signin
        if "files:read" not in self.scopes:
            return signin
        team_file = request.match_info["file_id"]
        file = self.files.get(team_file.removeprefix(f"{self.team_id}-"))
        if file is None or file.content is None or not file.completed:
            return web.Response(status=404, text="file_not_found", content_type="text/plain")
        kind = self._file_json(file)["mimetype"]
        return web.Response(body=file.content, content_type=kind)

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
            file.length = len(file.content)
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
