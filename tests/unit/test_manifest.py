"""manifest.yml is what Slack will be given: it must pass Slack's own schema and ask for no more
than the bot needs."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.workspace.slack_api import BOT_SCOPES

ROOT = Path(__file__).parents[2]
MANIFEST = ROOT / "manifest.yml"
SCHEMA = ROOT.parent / "shared/slack/manifest.schema.1.0.0.json"
EVENTS_PATH = "/slack/events"
# The least the bot needs; the fake Slack grants its token exactly these (x-oauth-scopes).
LEAST_PRIVILEGE = set(BOT_SCOPES)


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


@pytest.fixture
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(loaded, dict)
    return loaded


def errors(validator: Draft7Validator, manifest: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(manifest)]


def test_manifest_passes_slacks_schema(
    validator: Draft7Validator, manifest: dict[str, Any]
) -> None:
    assert errors(validator, manifest) == []


def test_background_color_is_a_hex_colour(manifest: dict[str, Any]) -> None:
    # The schema spells its pattern "regex", which JSON Schema ignores, so check it here.
    assert re.fullmatch(
        r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", manifest["display_information"]["background_color"]
    )


def test_pay_command_posts_to_the_events_route(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/pay"}
    pay = commands["/pay"]
    assert pay["url"].endswith(EVENTS_PATH)
    assert pay["should_escape"] is False
    for word in ("lookup", "refund", "disputes", "help"):
        assert word in pay["usage_hint"]


def test_interactivity_and_events_point_at_the_events_route(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith(EVENTS_PATH)
    assert settings["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert settings["socket_mode_enabled"] is False


def test_app_home_has_a_home_tab_and_a_read_only_messages_tab(manifest: dict[str, Any]) -> None:
    home = manifest["features"]["app_home"]
    assert home == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": True,
    }


def test_bot_scopes_are_exactly_the_least_privilege_set(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "the bot needs no user scopes"
    assert sorted(scopes["bot"]) == sorted(LEAST_PRIVILEGE)


def _drop_name(m: dict[str, Any]) -> None:
    del m["display_information"]["name"]


def _unknown_top_level_key(m: dict[str, Any]) -> None:
    m["permissions"] = {"admin": True}


def _short_long_description(m: dict[str, Any]) -> None:
    m["display_information"]["long_description"] = "Too short for Slack."


def _command_without_slash(m: dict[str, Any]) -> None:
    m["features"]["slash_commands"][0]["command"] = "pay"


def _interactivity_without_is_enabled(m: dict[str, Any]) -> None:
    del m["settings"]["interactivity"]["is_enabled"]


@pytest.mark.parametrize(
    "break_it",
    [
        _drop_name,
        _unknown_top_level_key,
        _short_long_description,
        _command_without_slash,
        _interactivity_without_is_enabled,
    ],
)
def test_schema_check_fails_on_a_manifest_slack_would_refuse(
    validator: Draft7Validator, manifest: dict[str, Any], break_it: Any
) -> None:
    broken = copy.deepcopy(manifest)
    break_it(broken)
    assert errors(validator, broken), f"{break_it.__name__} should fail validation"


def test_the_daily_settlement_digest_it_promises_exists(manifest: dict[str, Any]) -> None:
    """The description promises the daily settlement digest: the setting that turns it on is
    read and documented, and its message renders (tests/e2e/test_daily_digest.py posts it)."""
    from bot.blocks.notices import render
    from bot.config import Settings
    from bot.domain import Notice
    from bot.ids import NoticeKind
    from tests.unit.block_samples import DIGEST, NOW

    assert "daily settlement digest" in manifest["display_information"]["long_description"]
    assert "paybot_daily_digest_at" in Settings.model_fields
    assert "`PAYBOT_DAILY_DIGEST_AT`" in (ROOT / "README.md").read_text()
    notice = Notice(NoticeKind.DAILY_DIGEST, "2026-12-07", DIGEST.to_payload(), NOW)
    blocks, text = render(notice)
    assert blocks and text.startswith("Daily settlement for 2026-12-04")
