"""Small views shared by features: a message modal and a refusal on App Home."""

from __future__ import annotations

from slack_sdk.models.views import View

from bot.blocks.text import paragraph


def message_modal(title: str, text: str) -> View:
    return View(type="modal", title=title[:24], close="Close", blocks=[paragraph(text)])


def message_home(text: str) -> View:
    return View(type="home", blocks=[paragraph(text)])
