"""The approval policy's table (bot/policy.py) and the roles table (bot/roles.py) as the README
shows them: one source, and a copy kept in step."""

from __future__ import annotations

from pathlib import Path

from bot.policy import policy_table_markdown
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
