"""`/pay`: one Bolt listener that dispatches subcommands to the feature that registered them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.help import help_blocks
from bot.domain import PortalAccount
from bot.handlers.budget import in_time
from bot.handlers.routes import split_command
from bot.ids import Subcommand
from bot.services.container import Services

COMMAND = "/pay"


@dataclass
class Command:
    actor: PortalAccount
    name: str
    args: str
    ack: AsyncAck
    respond: AsyncRespond
    client: AsyncWebClient
    body: dict[str, Any]
    context: dict[str, Any]
    budget: float = 0.7

    async def answer(self, blocks: Sequence[Block], text: str) -> None:
        """Answer in the acknowledgement itself: ephemeral, seen by the caller only."""
        await self.ack(blocks=blocks, text=text, response_type="ephemeral")

    async def answer_soon(self, work: Awaitable[Answer], waiting: str) -> None:
        """Answer in the ack when ``work`` (a processor read) is done within the budget;
        otherwise ack ``waiting`` at once and replace it through the response_url when the
        work is done. An error before the ack is the ack's answer; one after it reaches the
        person through the error path (the response_url), so neither costs Slack's 3 s."""

        async def placeholder() -> None:
            await self.ack(text=waiting, response_type="ephemeral")

        (blocks, text), on_time = await in_time(work, self.budget, placeholder)
        if on_time:
            await self.answer(blocks, text)
            return
        await self.respond(
            blocks=blocks, text=text, response_type="ephemeral", replace_original=True
        )


Answer = tuple[Sequence[Block], str]
Handler = Callable[[Command], Awaitable[None]]


class Router:
    def __init__(self) -> None:
        self.handlers: dict[Subcommand, Handler] = {}

    def add(self, name: Subcommand, handler: Handler) -> None:
        self.handlers[name] = handler


def register(app: AsyncApp, services: Services) -> Router:
    router = Router()

    async def show_help(cmd: Command) -> None:
        unknown = cmd.name if cmd.name not in router.handlers else None
        await cmd.answer(help_blocks(cmd.actor, unknown=unknown), "Paybot help")

    router.add(Subcommand.HELP, show_help)

    @app.command(COMMAND)
    async def pay(
        ack: AsyncAck,
        body: dict[str, Any],
        context: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        name, args = split_command(str(body.get("text") or ""))
        handler = router.handlers.get(name, show_help)  # type: ignore[call-overload]  # a StrEnum key is its text
        budget = services.settings.paybot_answer_budget
        await handler(
            Command(context["actor"], name, args, ack, respond, client, body, context, budget)
        )

    return router
