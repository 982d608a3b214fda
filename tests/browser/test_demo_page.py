"""The demo workspace in real headless Chromium (Debian's, driven by Playwright): a person's
path through the page, from /pay help to a manager approving a refund in its thread.

Screenshots go to $PAYBOT_SCREENSHOTS when set (`make screenshots` writes docs/screenshots),
otherwise to the test's temporary directory.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import RefundRequest
from bot.demo import APPROVALS, PEOPLE, Demo, start_demo
from tests.conftest import eventually

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SAM, MIA = PEOPLE[0].slack_id, PEOPLE[1].slack_id

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install -e '.[dev]')"
)
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None,
    reason=(
        "Chromium is not installed at /usr/bin/chromium and could not be: `make test` installs "
        "Debian's chromium package with apt-get when it runs as root on a machine with apt"
    ),
)
Page = playwright_api.Page
expect = playwright_api.expect


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    started = await start_demo(port=0, directory=tmp_path / "demo-data", transactions=150)
    yield started
    await started.close()


@pytest.fixture
async def page(demo: Demo) -> AsyncIterator[Page]:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        context = await browser.new_context(viewport={"width": 1360, "height": 860})
        opened = await context.new_page()
        errors: list[str] = []
        opened.on("pageerror", lambda error: errors.append(str(error)))
        await opened.goto(demo.url)
        yield opened
        await browser.close()
    assert errors == [], f"the page threw: {errors}"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PAYBOT_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def type_in(page: Page, text: str) -> None:
    await page.locator("#composer-input").fill(text)
    await page.locator("#composer-input").press("Enter")


async def test_help_lookup_refund_request_and_approval_in_the_thread(
    page: Page, demo: Demo, shots: Path
) -> None:
    await page.locator("#acting-as").select_option(SAM)
    await expect(page.locator("#conversation-title")).to_have_text("# general")

    await type_in(page, "/pay help")
    answers = page.locator("#messages .message.ephemeral")
    await expect(answers).to_have_count(1)
    await expect(answers.first).to_contain_text("Paybot: the Payments Portal in Slack")
    await expect(answers.first).to_contain_text("Only visible to you")
    await expect(answers.first.locator("code").first).to_have_text("/pay lookup <exact id>")
    await page.screenshot(path=shots / "help.png")

    await type_in(page, "/pay history")  # an answer appears, whatever the command's state
    await expect(answers).to_have_count(2)

    txn = demo.data.card
    await type_in(page, f"/pay lookup {txn.id}")
    card = answers.filter(has_text=f"Payment {txn.id}")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("1,250.00 USD")
    await expect(card).to_contain_text("Visa •••• 4242")
    await page.screenshot(path=shots / "lookup.png")

    await card.get_by_role("button", name="Refund", exact=True).click()
    modal = page.get_by_role("dialog", name="Refund payment")
    await expect(modal).to_be_visible()
    await modal.get_by_role("button", name="Ask for approval").click()
    await expect(modal.locator(".bk-error")).to_have_text("Please complete this required field.")
    reason = "Client paid twice <!channel> & <b>bold</b>"
    await modal.get_by_label("Reason for the refund").fill(reason)
    await page.screenshot(path=shots / "refund-modal.png")
    await modal.get_by_role("button", name="Ask for approval").click()
    done = page.get_by_role("dialog", name="Refund requested")
    await expect(done).to_contain_text("waiting for a manager's approval")
    await expect(done.locator(".channel-link")).to_have_text("#payments-approvals")
    await done.get_by_role("button", name="Close").last.click()
    await expect(page.locator("#modal-root .modal")).to_have_count(0)

    await page.locator("#acting-as").select_option(MIA)
    await page.locator(f"button[data-channel={APPROVALS}]").click()
    request = page.locator("#messages .message").filter(has_text=txn.id)
    await expect(request).to_contain_text("Waiting for a manager's approval")
    await expect(request).to_contain_text(reason)  # the characters, not markup or a ping
    await request.hover()
    await request.get_by_role("button", name="Reply in thread").click()
    thread = page.locator("#thread")
    await expect(page.locator("#pane-title")).to_have_text("Thread · #payments-approvals")
    await thread.get_by_role("button", name="Approve", exact=True).click()
    confirm = page.get_by_role("dialog", name="Approve refund?")
    await expect(confirm).to_contain_text("This cannot be undone.")
    await confirm.get_by_role("button", name="Approve").click()
    await expect(thread).to_contain_text("Pending at the processor", timeout=20_000)
    await expect(thread).to_contain_text("Approved by @Mia Manager")
    await expect(thread).to_contain_text("was submitted to the processor")
    assert await page.locator("#messages b, #thread b, #messages script").count() == 0
    await page.screenshot(path=shots / "approval-thread.png")

    async def state() -> str | None:
        async with demo.bot.store.sessions() as session:
            return await session.scalar(
                select(RefundRequest.state).where(RefundRequest.transaction_id == txn.id)
            )

    assert await eventually(state) == "pending"

    await page.get_by_role("button", name="Sandbox processor").click()
    await page.get_by_role("button", name="Settle now").click()
    await expect(page.locator("#toasts")).to_contain_text(re.compile(r"[1-9]\d* pending refund"))
    await page.screenshot(path=shots / "processor.png")
    await page.locator("#pane-close").click()
    await request.hover()
    await request.get_by_role("button", name="Reply in thread").click()
    await expect(thread).to_contain_text("has settled", timeout=20_000)
    await expect(thread).to_contain_text("Bookkeeping checklist")

    await page.locator("#pane-close").click()
    await page.locator("#app-list button").click()  # App Home: Slack sends app_home_opened
    await expect(page.get_by_role("tab", name="Home")).to_have_class(re.compile("active"))
    await expect(page.locator("#home .blocks")).to_be_visible()  # the view the bot published
    await page.screenshot(path=shots / "home.png")
