"""`/pay me`: the caller's portal profile."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.help import profile_blocks
from bot.handlers.commands import Command, Router
from bot.ids import Subcommand
from bot.services.container import Services


def register(app: AsyncApp, services: Services, router: Router) -> None:
    async def me(cmd: Command) -> None:
        await cmd.answer(profile_blocks(cmd.actor), f"Portal user {cmd.actor.username}")

    router.add(Subcommand.ME, me)
