"""Real Slack request bodies (../shared/slack/payloads/, from bolt-python's own tests), with this
installation's ids put in: every shape gets 200 within a second and a sensible answer or a
polite refusal (Enterprise Grid, org installs, W- user ids, ephemeral containers, message
shortcuts, view_closed, legacy dialogs, events the bot does not subscribe to)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.conftest import Captured, Harness

PAYLOADS = Path(__file__).resolve().parents[3] / "shared" / "slack" / "payloads"
FILES = sorted(PAYLOADS.glob("*.json"))
ENTERPRISE = "E0PAYBOT"
OURS = {"T111": "T0PAYBOT", "T0G9PQBBK": "T0PAYBOT", "A111": "A0PAYBOT", "E111": ENTERPRISE}
HOOKS = re.compile(r"(https://hooks\.slack\.com|http://localhost:8888)/[^\"&\s]*")
TRIGGER = re.compile(r"\"trigger_id\": \"[^\"]*\"")


@pytest.fixture
def workspace_options() -> dict[str, Any]:
    """The bot is installed in a workspace of an Enterprise Grid organization, as most shapes
    here assume."""
    return {"enterprise_id": ENTERPRISE}


def ours(text: str) -> str:
    for theirs, mine in OURS.items():
        text = re.sub(rf"\b{theirs}\b", mine, text)
    return text


def test_all_sixty_six_shapes_are_here() -> None:
    assert len(FILES) == 66, PAYLOADS


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_every_real_payload_shape_gets_200_and_a_sensible_answer(
    harness: Harness, path: Path, logs: Captured
) -> None:
    fake = harness.fake
    admin = await harness.user("primary", "admin", slack_id="W111")
    for other in ("U111", "W99999", "U222", "W222"):
        fake.add_user(other, name=other.lower(), real_name=other, email=f"{other}@firm.com")
    fake.add_channel("C111", "test-channel")
    shape = json.loads(path.read_text())
    kind, body = shape["kind"], shape["body"]
    response_url = fake.response_url(channel="C111", user=admin)
    trigger = fake.new_trigger_id(admin)

    calls_before, responses_before = len(fake.calls), len(fake.responses)
    if shape["content_type"] == "form":
        form = dict(parse_qsl(ours(body)))
        form.update(command="/pay", text="help", response_url=response_url, trigger_id=trigger)
        answer = await harness.slack.send(urlencode(form))
    else:
        text = HOOKS.sub(response_url, ours(json.dumps(body)))
        text = TRIGGER.sub(f'"trigger_id": "{trigger}"', text)
        if kind.startswith(("event_callback", "url_verification")):
            answer = await harness.slack.send(json.loads(text))
        else:
            answer = await harness.slack.send(urlencode({"payload": text}))

    assert answer.status == 200
    assert harness.slack.answers[-1].seconds < 1.0, harness.slack.answers[-1]
    reply = answer.json if isinstance(answer.json, dict) else {}
    if kind == "slash_command":
        assert "/pay" in json.dumps(reply), reply  # the help, for an admin from a W- user id
    elif kind == "url_verification":
        assert answer.text == body["challenge"] or reply.get("challenge") == body["challenge"]
    elif kind == "view_submission":
        # A modal the bot did not open: a message, or errors keyed to its own inputs only.
        inputs = {b["block_id"] for b in body["view"]["blocks"] if b.get("type") == "input"}
        assert reply.get("response_action") in ("errors", "update"), reply
        if reply["response_action"] == "errors":
            assert reply["errors"] and set(reply["errors"]) <= inputs
    else:
        assert reply.get("response_action") != "errors"
    await harness.cycle()
    said = [c.method for c in fake.calls[calls_before:] if c.method.startswith(("chat.", "views."))]
    told = len(fake.responses) > responses_before or said
    if kind in ("block_actions", "interactive_message", "message_action", "shortcut"):
        # Someone clicked something Paybot does not offer (or may not use): a sentence back.
        assert told, f"{kind}: nobody was told anything"
    elif kind == "event_callback.app_home_opened" and body["event"].get("tab") == "home":
        assert "views.publish" in said, said
    elif kind.startswith("event_callback"):
        # Events the bot does not act on (the Messages tab opening among them) are ignored
        # quietly: nothing posted anywhere.
        assert not told, f"{kind}: the bot said {said}"
    assert logs.messages(logging.ERROR) == []
    assert not [m for m in logs.messages() if "didn't call ack()" in m]
