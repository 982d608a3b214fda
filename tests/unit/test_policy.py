"""The approval policy's table (bot/policy.py) and the roles table (bot/roles.py) as the README
shows them: one source, and a copy kept in step."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError
from bot.policy import Policy, SecondApproval, policy_table_markdown
from bot.roles import roles_table_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def between(text: str, marker: str) -> str:
    start = text.index(f"<!-- {marker} -->") + len(f"<!-- {marker} -->")
    return text[start : text.index(f"<!-- /{marker} -->")].strip()


def test_the_readme_shows_the_policy_table_as_the_code_has_it() -> None:
    assert between(README.read_text(), "policy-table") == policy_table_markdown()


def test_the_readme_shows_the_roles_table_as_the_code_has_it() -> None:
    assert between(README.read_text(), "roles-table") == roles_table_markdown()


def test_every_policy_setting_is_in_the_readme() -> None:
    text = README.read_text()
    for name in (
        "PAYBOT_REFUND_SECOND_APPROVAL_OVER",
        "PAYBOT_SECOND_APPROVAL",
        "PAYBOT_APPROVAL_REMIND_HOURS",
        "PAYBOT_APPROVAL_EXPIRE_HOURS",
        "PAYBOT_DISPUTE_MARGIN_DAYS",
    ):
        assert f"| `{name}` |" in text, name


def test_the_settings_make_the_policy() -> None:
    policy = load_settings(
        paybot_refund_second_approval_over="1000.00",
        paybot_second_approval="admin",
        paybot_approval_remind_hours="0",
        paybot_approval_expire_hours="36",
    ).policy
    assert policy == Policy(100_000, SecondApproval.ADMIN, None, timedelta(hours=36))
    defaults = load_settings().policy
    assert defaults == Policy(None, SecondApproval.TWO_APPROVERS, timedelta(hours=24), None)
    with pytest.raises(ConfigError, match="PAYBOT_SECOND_APPROVAL is malformed"):
        load_settings(paybot_second_approval="three")
    with pytest.raises(ConfigError, match="PAYBOT_REFUND_SECOND_APPROVAL_OVER is malformed"):
        load_settings(paybot_refund_second_approval_over="-5")
