"""Portal user management: the list with its row buttons, and the add and edit modals."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.text import inline
from bot.domain import PortalAccount, UserPage
from bot.ids import ActionId, BlockId, CallbackId
from bot.roles import Role

ROLE_OPTIONS = [Option(value=role.value, label=role.value.title()) for role in Role]


def users_list(page: UserPage, search: str | None) -> list[Block]:
    title = f"Portal users matching “{search}”" if search else "Portal users"
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        ActionsBlock(
            elements=[ButtonElement(text="Add user", action_id=ActionId.USERS_ADD, style="primary")]
        ),
    ]
    if not page.users:
        blocks.append(SectionBlock(text="No portal users match."))
    for user in page.users:
        status = "Active" if user.active else "Inactive"
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*{inline(user.username)}*  {inline(user.full_name)}\n"
                    f"{inline(user.email)} · {user.role} · {status}"
                    + (f" · <@{user.slack_user_id}>" if user.slack_user_id else "")
                )
            )
        )
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Edit role", action_id=ActionId.USERS_EDIT, value=user.username
                    ),
                    ButtonElement(
                        text="Deactivate" if user.active else "Activate",
                        action_id=ActionId.USERS_TOGGLE,
                        value=user.username,
                        style="danger" if user.active else None,
                    ),
                ]
            )
        )
    pager = []
    if page.page > 0:
        pager.append(_page_button("Previous", page.page - 1, search))
    if page.has_next:
        pager.append(_page_button("Next", page.page + 1, search))
    if pager:
        blocks.append(ActionsBlock(elements=pager))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Page {page.page + 1}")]))
    return blocks


def _page_button(label: str, page: int, search: str | None) -> ButtonElement:
    value = json.dumps({"page": page, "search": search or ""})
    return ButtonElement(text=label, action_id=ActionId.USERS_PAGE, value=value[:2000])


def add_user_modal() -> View:
    return View(
        type="modal",
        callback_id=CallbackId.USER_ADD,
        title="Add portal user",
        submit="Add user",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=BlockId.ROLE,
                label="Role",
                element=StaticSelectElement(action_id="value", options=ROLE_OPTIONS),
            ),
            InputBlock(
                block_id=BlockId.USERNAME,
                label="Username",
                hint="Letters and digits only, 3 to 32. Never an e-mail address.",
                element=PlainTextInputElement(action_id="value", max_length=64),
            ),
            InputBlock(
                block_id=BlockId.FULL_NAME,
                label="Full name",
                element=PlainTextInputElement(action_id="value", max_length=200),
            ),
            InputBlock(
                block_id=BlockId.EMAIL,
                label="E-mail",
                element=PlainTextInputElement(action_id="value", max_length=320),
            ),
            InputBlock(
                block_id=BlockId.SLACK_USER,
                label="Slack user",
                optional=True,
                hint="Leave empty to find the Slack user by the e-mail address.",
                element=UserSelectElement(action_id="value"),
            ),
        ],
    )


def edit_role_modal(user: PortalAccount) -> View:
    current = next(o for o in ROLE_OPTIONS if o.value == user.role)
    return View(
        type="modal",
        callback_id=CallbackId.USER_EDIT,
        private_metadata=user.username,
        title="Edit user",
        submit="Save",
        close="Cancel",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(text=f"*{inline(user.username)}*  {inline(user.full_name)}")
            ),
            InputBlock(
                block_id=BlockId.ROLE,
                label="Role",
                element=StaticSelectElement(
                    action_id="value", options=ROLE_OPTIONS, initial_option=current
                ),
            ),
            InputBlock(
                block_id=BlockId.SLACK_USER,
                label="Slack user",
                optional=True,
                hint="The Slack user this portal user acts as.",
                element=UserSelectElement(action_id="value", initial_user=user.slack_user_id),
            ),
        ],
    )
