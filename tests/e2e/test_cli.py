"""The `paybot` command as a person runs it: a real process, exit codes and printed lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

OURS = ("SLACK_", "PAYBOT_", "PAYMENTS_", "DATABASE_", "STRIPE_", "PAYRIX_")


def environment(extra: dict[str, str]) -> dict[str, str]:
    """The test's settings only, never whatever the developer's shell or .env holds."""
    return {k: v for k, v in os.environ.items() if not k.startswith(OURS)} | extra


def paybot(
    *args: str, env: dict[str, str], check: bool = False
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=environment(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}


def test_every_command_has_help(env: dict[str, str]) -> None:
    for command in (
        [],
        ["serve"],
        ["socket"],
        ["users"],
        ["users", "add"],
        ["users", "list"],
        ["users", "set-role"],
        ["sandbox"],
        ["sandbox", "charge"],
        ["sandbox", "seed"],
        ["sandbox", "show"],
        ["payrix"],
        ["payrix", "alerts"],
        ["payrix", "batches"],
        ["audit"],
        ["audit", "export"],
    ):
        result = paybot(*command, "--help", env=env)
        assert result.returncode == 0, (command, result.stderr)
        assert "usage: paybot" in result.stdout


def test_charge_prints_the_id_last_and_show_has_refunds_and_disputes(env: dict[str, str]) -> None:
    charged = paybot(
        "sandbox",
        "charge",
        "--amount",
        "125.50",
        "--matter",
        "MAT-7",
        "--account",
        "trust",
        env=env,
        check=True,
    )
    transaction_id = charged.stdout.strip().splitlines()[-1]
    assert transaction_id.startswith("txn_")
    shown = json.loads(paybot("sandbox", "show", transaction_id, env=env, check=True).stdout)
    assert shown["id"] == transaction_id
    assert shown["amount_minor"] == 12550
    assert shown["refunds"] == [] and shown["disputes"] == []
    assert shown["account"] == "trust" and shown["matter_id"] == "MAT-7"


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "1.234"])
def test_charge_with_a_bad_amount_exits_non_zero_with_a_clear_error(
    env: dict[str, str], amount: str
) -> None:
    result = paybot("sandbox", "charge", f"--amount={amount}", env=env)
    assert result.returncode != 0
    assert "--amount" in result.stderr
    assert "Traceback" not in result.stderr


def test_users_add_refuses_an_email_as_username(env: dict[str, str]) -> None:
    result = paybot(
        "users",
        "add",
        "--username",
        "ann@firm.com",
        "--full-name",
        "Ann",
        "--email",
        "ann@firm.com",
        "--role",
        "staff",
        env=env,
    )
    assert result.returncode != 0
    assert "never an e-mail" in result.stderr


def test_users_add_and_list(env: dict[str, str]) -> None:
    paybot(
        "users",
        "add",
        "--username",
        "ann",
        "--full-name",
        "Ann Lee",
        "--email",
        "ann@firm.com",
        "--role",
        "admin",
        "--slack-user",
        "UANN",
        env=env,
        check=True,
    )
    listed = paybot("users", "list", env=env, check=True).stdout
    assert "ann\tAnn Lee\tann@firm.com\tadmin\tActive\tUANN" in listed


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SLACK_BOT_TOKEN", "", "SLACK_BOT_TOKEN"),
        ("SLACK_BOT_TOKEN", "not-a-token", "SLACK_BOT_TOKEN"),
        ("DATABASE_URL", "mysql://nope", "DATABASE_URL"),
        ("PAYMENTS_BACKEND", "paypal", "PAYMENTS_BACKEND"),
    ],
)
def test_a_missing_or_malformed_setting_stops_start_up_with_one_line(
    env: dict[str, str], variable: str, value: str, named: str
) -> None:
    settings = {**env, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", variable: value}
    result = paybot("serve", "--port", "0", env={k: v for k, v in settings.items() if v})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
