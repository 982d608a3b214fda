"""Block Kit builders: pure functions from domain objects to slack_sdk.models blocks and views."""

from bot.blocks import rendering

rendering.install()
