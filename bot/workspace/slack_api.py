"""FakeSlack: a stateful local Slack Web API (for e2e tests and the demo), gathered from its parts.

The bot's `AsyncWebClient(base_url=fake.base_url)` talks to it. It answers the methods Paybot
uses with the shapes Slack returns, keeps what was posted, checks what Slack would refuse, and
can be told to fail or rate-limit, noting any call that comes back before its Retry-After.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from bot.workspace.block_kit import block_problems, view_problems
from bot.workspace.chat import ChatApi
from bot.workspace.conversations import ConversationsApi
from bot.workspace.files import FilesApi
from bot.workspace.records import (
    JSON,
    Call,
    EarlyCall,
    FakeChannel,
    FakeFile,
    FakeUser,
    Message,
    SlackError,
)
from bot.workspace.state import BOT_SCOPES, POST_BURST, SLACKBOT
from bot.workspace.users import UsersApi
from bot.workspace.views import ViewsApi

_UPLOAD_LIMIT = 64 * 1024 * 1024


class FakeSlack(ChatApi, ViewsApi, UsersApi, ConversationsApi, FilesApi):
    """One workspace with one installed bot, served on 127.0.0.1 at a free port: the state,
    server and Web API families of the modules beside this one, gathered into one object."""

    def _web_api(self) -> dict[str, Callable[[JSON], JSON]]:
        return {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.list": self._users_list,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.upload": self._files_upload_v1,
            "files.info": self._files_info,
        }

    def routes(self) -> list[web.RouteDef]:
        """The Web API, upload and response_url routes, for embedding in another aiohttp app
        (the demo server); set `root_url` to that server's root then."""
        return [
            web.route("*", "/api/{method}", self._serve_api),
            web.post("/upload/{file_id}", self._serve_upload),
            web.get("/files-pri/{file_id}/{name}", self._serve_private),
            web.get("/files-pri/{file_id}/download/{name}", self._serve_private),
            web.post("/response/{key}", self._serve_response),
            *self.socket_mode.routes(),
        ]

    def make_app(self) -> web.Application:
        """The aiohttp application serving `routes()` alone."""
        app = web.Application(client_max_size=_UPLOAD_LIMIT)
        app.add_routes(self.routes())
        return app

    async def start(self) -> str:
        """Serve on a free port and return the base_url for AsyncWebClient."""
        if self._runner is None:
            runner = web.AppRunner(self.make_app(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, self._host, self._port).start()
            host, port = runner.addresses[0][:2]
            self._runner = runner
            self.root_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        await self.socket_mode.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


__all__ = [
    "BOT_SCOPES",
    "JSON",
    "POST_BURST",
    "SLACKBOT",
    "Call",
    "EarlyCall",
    "FakeChannel",
    "FakeFile",
    "FakeSlack",
    "FakeUser",
    "Message",
    "SlackError",
    "block_problems",
    "view_problems",
]
