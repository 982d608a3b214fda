"""Portal user management in Slack (admins only; the gate has already checked the role)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.common import message_modal
from bot.blocks.users import add_user_modal, edit_role_modal, users_list
from bot.domain import Source
from bot.handlers import forms
from bot.handlers.commands import Command, Router
from bot.ids import ActionId, BlockId, CallbackId, Subcommand
from bot.services.container import Services
from bot.services.users import NewUser
from bot.slack.directory import SlackDirectory


class UsersPage(BaseModel):
    page: int = Field(default=0, ge=0, le=100_000)
    search: str = Field(default="", max_length=200)


def register(app: AsyncApp, services: Services, router: Router) -> None:
    async def list_users(cmd: Command) -> None:
        search = cmd.args.strip() or None
        page = await services.users.search(search)
        await cmd.answer(users_list(page, search), "Portal users")

    router.add(Subcommand.USERS, list_users)

    @app.action(ActionId.USERS_PAGE)
    async def page(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        wanted = forms.button_value(UsersPage, forms.action_value(action))
        search = wanted.search or None
        result = await services.users.search(search, page=wanted.page)
        await respond(blocks=users_list(result, search), replace_original=True, text="Portal users")

    @app.action(ActionId.USERS_ADD)
    async def open_add(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=add_user_modal())

    @app.view(CallbackId.USER_ADD)
    async def add(
        ack: AsyncAck, view: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        email = forms.text(view, BlockId.EMAIL)
        slack_user = forms.value(view, BlockId.SLACK_USER)
        if not slack_user and "@" in email:
            directory = SlackDirectory(client, services.sessions, services.clock)
            slack_user = await directory.user_for_email(email)
        user = await services.users.add(
            context["actor"],
            NewUser(
                username=forms.text(view, BlockId.USERNAME),
                full_name=forms.text(view, BlockId.FULL_NAME),
                email=email,
                role=forms.text(view, BlockId.ROLE),
                slack_user_id=slack_user,
            ),
            Source.MODAL,
        )
        linked = (
            f"linked to <@{user.slack_user_id}>" if user.slack_user_id else "not linked to Slack"
        )
        done = message_modal("User added", f"Added *{user.username}* as {user.role}, {linked}.")
        await ack(response_action="update", view=done)

    @app.action(ActionId.USERS_EDIT)
    async def open_edit(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = await services.users.get(forms.action_value(action))
        await client.views_open(trigger_id=body["trigger_id"], view=edit_role_modal(user))

    @app.view(CallbackId.USER_EDIT)
    async def edit(ack: AsyncAck, view: dict[str, Any], context: dict[str, Any]) -> None:
        user = await services.users.edit(
            context["actor"],
            view.get("private_metadata") or "",
            forms.text(view, BlockId.ROLE),
            forms.value(view, BlockId.SLACK_USER),
            Source.MODAL,
        )
        linked = (
            f", linked to <@{user.slack_user_id}>"
            if user.slack_user_id
            else ", not linked to Slack"
        )
        await ack(
            response_action="update",
            view=message_modal("User saved", f"*{user.username}* is now {user.role}{linked}."),
        )

    @app.action(ActionId.USERS_TOGGLE)
    async def toggle(
        ack: AsyncAck, action: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        current = await services.users.get(forms.action_value(action))
        user = await services.users.set_active(
            context["actor"], current.username, not current.active, Source.BUTTON
        )
        result = await services.users.search(None)
        status = "active again" if user.active else "deactivated"
        await respond(
            text=f"{user.username} is {status}.",
            blocks=users_list(result, None),
            replace_original=True,
        )
