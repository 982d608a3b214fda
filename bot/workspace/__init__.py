"""The local Slack side: a fake Web API the bot calls, and a sender that calls the bot as Slack
does. Used by end-to-end tests and the demo workspace; the bot itself never imports it."""

from bot.workspace.sender import Reply, SlackSender
from bot.workspace.signing import sign
from bot.workspace.slack_api import (
    Call,
    FakeChannel,
    FakeFile,
    FakeSlack,
    FakeUser,
    Message,
    SlackError,
)
from bot.workspace.view_state import state_values

__all__ = [
    "Call",
    "FakeChannel",
    "FakeFile",
    "FakeSlack",
    "FakeUser",
    "Message",
    "Reply",
    "SlackError",
    "SlackSender",
    "sign",
    "state_values",
]
