"""The local Slack side: a fake Web API the bot calls, and a sender that calls the bot as Slack
does. Used by end-to-end tests and the demo workspace; the bot itself never imports it."""

from bot.workspace.signing import Reply, SlackSender, sign, state_values
from bot.workspace.slack_api import (
    Call,
    FakeChannel,
    FakeFile,
    FakeSlack,
    FakeUser,
    Message,
    SlackError,
)

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
