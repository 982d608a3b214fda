"""`paybot demo` without a browser: the workspace's JSON API driving the real bot on the sandbox,
and the command itself as a process."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.db.models import RefundRequest
from bot.demo import APPROVALS, GENERAL, NOTIFY, PEOPLE, Demo, start_demo
from bot.workspace.browser import STATIC
from bot.workspace.slack_api import FakeFile
from tests.conftest import eventually, free_port
from tests.e2e.test_cli import environment, paybot

SAM, MIA, ADA, VIC, GUS = (p.slack_id for p in PEOPLE)


class Page:
    """What the page's JavaScript does, as plain HTTP calls."""

    def __init__(self, demo: Demo, http: aiohttp.ClientSession) -> None:
        self.demo = demo
        self.http = http

    async def post(self, path: str, body: dict[str, Any], status: int = 200) -> Any:
        async with self.http.post(self.demo.url + path, json=body) as response:
            answer = await response.json()
            assert response.status == status, answer
            return answer

    async def state(self, user: str, since: str | None = None) -> dict[str, Any]:
        params = {"user": user} | ({"since": since} if since is not None else {})
        async with self.http.get(self.demo.url + "workspace/state", params=params) as response:
            assert response.status == 200
            return dict(await response.json())

    async def type(self, user: str, text: str, channel: str = GENERAL, status: int = 200) -> Any:
        return await self.post(
            "workspace/command", {"user": user, "channel": channel, "text": text}, status
        )

    async def last(self, user: str, channel: str = GENERAL) -> dict[str, Any]:
        messages = [m for m in (await self.state(user))["messages"] if m["channel"] == channel]
        return dict(messages[-1])

    async def click(
        self, user: str, message: dict[str, Any], action_id: str, status: int = 200, **extra: Any
    ) -> Any:
        body = {
            "user": user,
            "channel": message["channel"],
            "ts": message["ts"],
            "action_id": action_id,
        }
        return await self.post("workspace/action", body | extra, status)

    async def modal(self, user: str) -> dict[str, Any] | None:
        return (await self.state(user))["modal"]


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    started = await start_demo(port=0, directory=tmp_path / "demo-data", transactions=150)
    yield started
    await started.close()


@pytest.fixture
async def page(demo: Demo) -> AsyncIterator[Page]:
    async with aiohttp.ClientSession() as http:
        yield Page(demo, http)


def text_of(message: dict[str, Any]) -> str:
    return str(message["text"]) + repr(message["blocks"])


async def test_page_is_served_offline_and_builds_no_html_from_data(page: Page) -> None:
    async with page.http.get(page.demo.url) as response:
        html = await response.text()
        assert response.status == 200
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert '<script type="module" src="/static/app.js">' in html
    assert "http" not in html.replace("http-equiv", "")
    scripts = sorted(p.name for p in STATIC.glob("*.js"))
    assert {"app.js", "mrkdwn.js", "blocks.js"} <= set(scripts)
    for name in (*scripts, "app.css", "favicon.svg"):
        async with page.http.get(f"{page.demo.url}static/{name}") as response:
            assert response.status == 200, name
            body = await response.text()
            if name.endswith(".js"):  # a module script is refused under any other type
                assert response.content_type in ("text/javascript", "application/javascript")
        body = body.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in body and "http://" not in body, f"{name} reaches outside"
        if name.endswith(".js"):
            for sink in (
                ".innerHTML",
                ".outerHTML",
                "insertAdjacentHTML(",
                "document.write(",
                "eval(",
            ):
                assert sink not in body, f"{name} uses {sink}: render text with textContent"
    async with page.http.get(f"{page.demo.url}static/../demo.py") as response:
        assert response.status in (403, 404)


async def test_seeded_workspace_people_channels_and_a_request_waiting(page: Page) -> None:
    state = await page.state(MIA)
    assert [p["note"] for p in state["people"]] == [
        "staff",
        "manager",
        "admin",
        "viewer",
        "no portal account",
    ]
    names = {c["name"]: c for c in state["channels"]}
    assert {"general", "payments", "payments-approvals", "Paybot"} <= set(names)
    assert names["Paybot"]["id"].startswith("D") and names["Paybot"]["kind"] == "app"
    requested = page.demo.data.requested
    await eventually(
        lambda: _has(page, MIA, APPROVALS, requested.transaction_id), what="seeded request"
    )
    assert state["processor"] is True and any("/pay lookup" in tip for tip in state["tips"])
    await page.type(SAM, f"/pay lookup {page.demo.data.held.id}")
    held = await page.last(SAM)
    assert "Authorization" in text_of(held) and "No refund possible" in text_of(held)


async def _has(page: Page, user: str, channel: str, needle: str) -> bool:
    return any(
        m["channel"] == channel and needle in text_of(m)
        for m in (await page.state(user))["messages"]
    )


async def test_commands_answer_ephemerally_to_the_caller_only(page: Page) -> None:
    version = (await page.state(SAM))["version"]
    assert (await page.state(SAM, since=version)) == {"version": version, "changed": False}
    await page.type(SAM, "/pay help")
    state = await page.state(SAM, since=version)
    assert state["changed"] is True
    [answer] = [m for m in state["messages"] if m["channel"] == GENERAL]
    assert answer["ephemeral"] and "Paybot: the Payments Portal in Slack" in text_of(answer)
    assert not [m for m in (await page.state(MIA))["messages"] if m["channel"] == GENERAL]

    await page.type(GUS, "/pay help")
    refusal = await page.last(GUS)
    assert refusal["ephemeral"] and "no Payments Portal access" in refusal["text"]


async def test_typing_a_message_or_an_unknown_command(page: Page) -> None:
    await page.type(SAM, "Good morning <b>all</b>")
    posted = await page.last(MIA)
    assert (posted["user"], posted["text"], posted["ephemeral"]) == (
        SAM,
        "Good morning <b>all</b>",
        False,
    )
    answer = await page.type(SAM, "/refund txn_1", status=400)
    assert "/refund is not a valid command" in answer["error"]
    await page.type("U0NOBODY", "/pay help", status=400)


async def test_refund_requested_by_staff_approved_by_a_manager_then_settled(
    page: Page, demo: Demo
) -> None:
    txn = demo.data.card
    await page.type(SAM, f"/pay lookup {txn.id}")
    card = await page.last(SAM)
    assert f"Payment {txn.id}" in text_of(card) and "refund_open" in text_of(card)
    await page.click(SAM, card, "refund_open", value=txn.id)

    async def filled() -> dict[str, Any] | None:
        found = await page.modal(SAM)  # opened loading, filled once the processor answered
        return found if found and found.get("callback_id") else None

    modal = await eventually(filled, what="refund modal")
    assert isinstance(modal, dict) and modal["callback_id"] == "refund_request"

    empty = await page.post(
        "workspace/submit", {"user": SAM, "view_id": modal["id"], "values": {}}, 400
    )
    assert "required input 'reason' is empty" in empty["error"]
    blank = await page.post(
        "workspace/submit", {"user": SAM, "view_id": modal["id"], "values": {"reason": "  "}}
    )
    assert blank["errors"] == {"reason": "Give a reason: it is sent to everyone on the matter."}
    reason = "Paid twice <!channel> & more"
    done = await page.post(
        "workspace/submit", {"user": SAM, "view_id": modal["id"], "values": {"reason": reason}}
    )
    assert done["errors"] == {}
    updated = await page.modal(SAM)
    assert updated is not None and updated["title"]["text"] == "Refund requested"
    await page.post("workspace/close", {"user": SAM, "view_id": updated["id"]})
    assert await page.modal(SAM) is None

    async def request_message() -> dict[str, Any] | None:
        found = [
            m
            for m in (await page.state(MIA))["messages"]
            if m["channel"] == APPROVALS and txn.id in text_of(m) and not m["thread_ts"]
        ]
        return found[0] if found else None

    message = await eventually(request_message, what="approval message")
    assert isinstance(message, dict)
    assert "Paid twice &lt;!channel&gt; &amp; more" in text_of(message), "escaped, pings nobody"

    await page.click(SAM, message, "refund_approve")
    await eventually(
        lambda: _has(page, SAM, APPROVALS, "needs the manager role"), what="staff is refused"
    )
    await page.click(MIA, message, "refund_approve")

    async def state_of_request() -> str | None:
        async with demo.bot.store.sessions() as session:
            return await session.scalar(
                select(RefundRequest.state).where(RefundRequest.transaction_id == txn.id)
            )

    await eventually(lambda: _equals(state_of_request, "pending"), what="refund pending")
    await eventually(
        lambda: _has(page, MIA, APPROVALS, "Pending at the processor"), what="updated message"
    )
    news = await page.post("workspace/processor", {"what": "settle"})
    assert news["ok"] and "1 pending refund(s) settled" in news["text"]
    await eventually(lambda: _equals(state_of_request, "succeeded"), what="refund settled")


async def _equals(read: Any, wanted: str) -> bool:
    return bool(await read() == wanted)


async def test_a_click_names_its_row_among_buttons_sharing_an_action_id(page: Page) -> None:
    await page.type(ADA, "/pay users")
    listing = await page.last(ADA)
    await page.click(ADA, listing, "users_edit", value="vic")
    modal = await eventually(lambda: page.modal(ADA), what="edit modal")
    assert isinstance(modal, dict) and modal["private_metadata"] == "vic"
    await page.post("workspace/close", {"user": ADA, "view_id": modal["id"]})
    await page.click(ADA, listing, "no_such_button", status=400)


async def test_processor_buttons(page: Page, demo: Demo) -> None:
    charged = await page.post(
        "workspace/processor", {"what": "charge", "amount": "42.00", "method": "card"}
    )
    assert charged["ok"] and "42.00 USD" in charged["text"]
    disputed = await page.post("workspace/processor", {"what": "chargeback"})
    assert disputed["ok"] and disputed["transaction_id"] == charged["transaction_id"]
    refused = await page.post(
        "workspace/processor", {"what": "return", "transaction_id": charged["transaction_id"]}
    )
    assert not refused["ok"] and "card payment" in refused["text"]
    returned = await page.post("workspace/processor", {"what": "return"})
    assert returned["ok"] and "R01" in returned["text"]
    bad = await page.post("workspace/processor", {"what": "charge", "amount": "-3"})
    assert not bad["ok"]
    await page.post("workspace/processor", {"what": "explode"}, 400)


async def test_only_json_is_taken_so_other_sites_cannot_post_here(page: Page) -> None:
    body = '{"user": "U0SAM", "channel": "C0GENERAL", "text": "/pay help"}'
    headers = {"Content-Type": "text/plain"}  # what a cross-site form may send unasked
    async with page.http.post(
        page.demo.url + "workspace/command", data=body, headers=headers
    ) as response:
        assert response.status == 415
    assert not [m for m in (await page.state(SAM))["messages"] if m["channel"] == GENERAL]


async def test_a_seeded_response_carries_a_document_the_manager_can_open(page: Page) -> None:
    """The demo's drafted dispute response: its engagement letter is in the dispute's thread,
    uploaded by the bot from its stored copy, and opens as a PDF."""

    async def letter() -> dict[str, Any] | None:
        for message in (await page.state(MIA))["messages"]:
            if message["channel"] == NOTIFY and message["thread_ts"]:
                for file in message["files"]:
                    if file["name"] == "engagement-letter.pdf":
                        return dict(file)
        return None

    found = await eventually(letter, timeout=20, what="the response's document in the thread")
    assert isinstance(found, dict)
    async with page.http.get(page.demo.url + found["url"].lstrip("/")) as response:
        assert response.status == 200
        body = await response.read()
    assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")


async def test_a_file_picked_in_a_modal_is_stored_as_slack_stores_it(page: Page) -> None:
    """The page's file_input: the file goes to the workspace at once, and its file object is
    what the submission's state carries."""
    content = b"%PDF-1.4\n% an invoice\n"
    answer = await page.post(
        "workspace/upload",
        {"user": SAM, "name": "invoice.pdf", "content": base64.b64encode(content).decode()},
    )
    file = answer["file"]
    assert (file["name"], file["size"], file["user"]) == ("invoice.pdf", len(content), SAM)
    assert page.demo.fake.files[file["id"]].content == content
    await page.post(
        "workspace/upload", {"user": SAM, "name": "x.pdf", "content": "not base64!"}, status=400
    )


async def test_uploaded_files_images_inline_others_only_as_downloads(page: Page) -> None:
    fake = page.demo.fake
    fake.files["F1"] = FakeFile("F1", "chart.png", 12, content=b"\x89PNG\r\n\x1a\n" + b"0" * 4)
    fake.files["F2"] = FakeFile("F2", "x.html", 20, content=b"<script>alert(1)</script>")
    async with page.http.get(page.demo.url + "workspace/files/F1") as response:
        assert response.content_type == "image/png"
    async with page.http.get(page.demo.url + "workspace/files/F2") as response:
        assert response.content_type == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_demo_has_help() -> None:
    result = paybot("demo", "--help", env={})
    assert result.returncode == 0 and "--no-browser" in result.stdout and "--port" in result.stdout


def test_paybot_demo_runs_as_a_command_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--no-browser", "--port", str(port)],
        cwd=tmp_path,
        env=environment({"PYTHONPATH": str(Path(__file__).parents[2])}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()
            try:
                if asyncio.run(_get(f"http://127.0.0.1:{port}/healthz")) == 200:
                    break
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.2)
        assert asyncio.run(_get(f"http://127.0.0.1:{port}/")) == 200
        assert (tmp_path / "demo-data" / "paybot-demo.db").is_file()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert f"http://127.0.0.1:{port}/" in out and "/pay lookup txn_" in out
    assert "xoxb-" not in out + err, "the invented token is never printed"


async def _get(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status


@pytest.mark.skipif(sys.platform != "linux", reason="the display rule is Linux's")
def test_no_browser_is_opened_without_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.demo import can_open_browser

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not can_open_browser()
    monkeypatch.setenv("DISPLAY", ":0")
    assert can_open_browser()
    assert os.environ["DISPLAY"] == ":0"


async def test_the_demo_shows_a_trust_refunds_checklist_and_a_trust_chargeback(
    page: Page,
) -> None:
    """Seeded before the bot started: the trust refund's bookkeeping checklist (checkboxes, with
    the Actionstep steps) in its approval thread, and the trust chargeback announced as a
    trust debit whose thread holds the cover checklist."""
    fake, data = page.demo.fake, page.demo.data

    def boxes_in(channel: str, needle: str) -> Any:
        for parent in fake.messages(channel):
            if needle not in repr(parent.blocks):
                continue
            for reply in fake.messages(channel, thread_ts=parent.ts):
                if "checkboxes" in repr(reply.blocks):
                    return parent, reply
        return None

    refund = await fake.wait_for(
        lambda: boxes_in(APPROVALS, data.trust_refunded.id), timeout=20, what="refund checklist"
    )
    assert "Trust → Make Payment" in repr(refund[1].blocks)
    debit = await fake.wait_for(
        lambda: boxes_in(NOTIFY, data.trust_charged_back.id), timeout=20, what="trust debit"
    )
    assert "Trust debit" in repr(debit[0].blocks)
    assert "operating to trust" in repr(debit[1].blocks).replace("*", "")
    # Sam ticks the first step on the page: the checklist shows it, with who did it.
    cover = debit[1]
    await page.click(
        SAM, {"channel": NOTIFY, "ts": cover.ts}, "checklist_tick", selected=["cover_transfer"]
    )
    await fake.wait_for(
        lambda: "<@U0SAM>" in repr(fake.message(NOTIFY, cover.ts).blocks), what="tick shown"
    )
