"""The pieces of an answer made cheaper for issue 22 do what the plain way did: the deadlines,
the budgeted work, the ack's message body, the worker's sweeps, the log redactor, amounts as
text, and the card guard's first question. Each is compared with the straightforward version on
inputs hypothesis chooses, or timed on the event loop."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.blocks import DividerBlock, HeaderBlock, SectionBlock

from bot.domain import CURRENCY_EXPONENT, Money
from bot.handlers.budget import TICK, Alarms, first_of, in_time
from bot.handlers.runner import SignalledAck
from bot.logs import REDACTED, SECRET_PATTERNS, Redactor
from bot.pan import _THIRTEEN_DIGITS, mask_pans
from bot.workers.runner import Worker

# --- deadlines and the budget ------------------------------------------------------------


async def test_an_alarm_rings_once_its_time_has_passed_and_not_before() -> None:
    loop = asyncio.get_running_loop()
    rung: list[float] = []
    started = loop.time()
    Alarms.of().set(0.12, lambda: rung.append(loop.time() - started))
    await asyncio.sleep(0.05)
    assert rung == []
    await asyncio.sleep(0.12 + TICK + 0.05)
    assert len(rung) == 1 and rung[0] >= 0.12  # rung once, never early


async def test_a_cleared_alarm_never_rings_and_the_timer_stops_when_none_is_left() -> None:
    alarms = Alarms.of()
    rung: list[str] = []
    key = alarms.set(0.05, lambda: rung.append("rang"))
    alarms.clear(key)
    await asyncio.sleep(0.05 + 2 * TICK)
    assert rung == [] and not alarms._ticking


async def test_work_done_within_the_budget_is_the_answer_and_nothing_is_said_late() -> None:
    said: list[str] = []

    async def late() -> None:
        said.append("Looking up …")

    async def work() -> str:
        await asyncio.sleep(0.01)
        return "card"

    assert await in_time(work(), 0.5, late) == ("card", True)
    await asyncio.sleep(0.5 + TICK)
    assert said == []


async def test_slow_work_says_it_is_late_first_then_gives_its_result() -> None:
    said: list[str] = []

    async def late() -> None:
        said.append("Looking up …")

    async def work() -> str:
        await asyncio.sleep(0.3)
        said.append("done")
        return "card"

    assert await in_time(work(), 0.1, late) == ("card", False)
    assert said == ["Looking up …", "done"]


async def test_an_error_before_the_budget_comes_before_anything_is_said() -> None:
    said: list[str] = []

    async def late() -> None:
        said.append("late")

    async def work() -> str:
        raise LookupError("not found")

    with pytest.raises(LookupError):
        await in_time(work(), 0.1, late)
    await asyncio.sleep(0.1 + 2 * TICK)
    assert said == []


async def test_an_error_after_the_budget_comes_after_the_placeholder_was_said() -> None:
    said: list[str] = []

    async def late() -> None:
        await asyncio.sleep(0.02)
        said.append("late")

    async def work() -> str:
        await asyncio.sleep(0.25)
        raise LookupError("the processor failed")

    with pytest.raises(LookupError):
        await in_time(work(), 0.05, late)
    assert said == ["late"]


async def test_first_of_returns_when_either_comes_first() -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    loop.call_later(0.02, done.set_result, None)
    started = loop.time()
    await first_of(done, 5)
    assert loop.time() - started < 4  # the work's end, not the 5 s
    never: asyncio.Future[None] = loop.create_future()
    started = loop.time()
    await first_of(never, 0.1)
    assert loop.time() - started >= 0.1 and not never.done()


# --- the ack's message body --------------------------------------------------------------


async def test_a_message_acked_is_the_body_bolt_would_send() -> None:
    blocks = [
        HeaderBlock(text="Payment txn_1 “quoted” •••• 4242"),
        SectionBlock(fields=["*Amount*\n125.50 USD", "*Status*\nSucceeded"]),
        DividerBlock(),
    ]
    ours, bolts = SignalledAck(), AsyncAck()  # type: ignore[no-untyped-call]
    await ours(blocks=blocks, text="Payment txn_1", response_type="ephemeral")
    await bolts(blocks=blocks, text="Payment txn_1", response_type="ephemeral")
    assert ours.response is not None and bolts.response is not None
    assert json.loads(ours.response.body) == json.loads(bolts.response.body)
    assert ours.response.headers == bolts.response.headers and ours.given.done()
    # Anything else is Bolt's own answer.
    other = SignalledAck()
    await other(text="Looking up …", response_type="ephemeral")
    assert other.response is not None and json.loads(other.response.body) == {
        "text": "Looking up …",
        "response_type": "ephemeral",
    }


# --- the worker's sweeps ------------------------------------------------------------------


class _Queue:
    async def claim(self, _owner: str) -> None:
        return None


async def test_sweeps_run_every_sweep_interval_and_the_rest_every_round() -> None:
    ran: list[str] = []

    async def poll() -> None:
        ran.append("poll")

    async def remind() -> None:
        ran.append("remind")

    worker = Worker(
        _Queue(),  # type: ignore[arg-type]
        {},
        periodic=[poll, remind],
        sweeps=[remind],
        interval=0.05,
        sweep_interval=0.4,
    )
    worker.start()
    await asyncio.sleep(0.3)
    await worker.stop()
    assert ran[:2] == ["poll", "remind"], "the first round sweeps too"
    assert ran.count("remind") == 1 and ran.count("poll") >= 4
    ran.clear()
    await worker.run_periodic()  # what tests call: the whole round, sweeps included
    assert ran == ["poll", "remind"]


# --- the log redactor, amounts, the card guard --------------------------------------------

SECRETS = ["xoxb-1234-abcdefgh", "0123456789abcdef0123456789abcdef", "whsec_abc123def"]
PIECES = [
    *SECRETS,
    "xoxp-99-zz",
    "xapp-1-A",
    "Bearer abc.def",
    "sk_live_X1",
    "rk_test_9",
    "whsec_Q",
    "xox",
    "Bearer",
    "_live_",
    "4111 1111 1111 1111",
    " ",
    "-",
    "_",
]


def redacted_plainly(text: str) -> str:
    for secret in sorted(SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return mask_pans(SECRET_PATTERNS.sub(REDACTED, text))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=8).map("".join))
def test_the_redactor_says_what_replacing_everything_would(text: str) -> None:
    assert Redactor(SECRETS)(text) == redacted_plainly(text)


@settings(max_examples=400, deadline=None)
@given(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.sampled_from([*CURRENCY_EXPONENT, "USD", "EUR", "usd", "BHD"]),
)
def test_an_amount_reads_as_the_decimal_would(minor: int, currency: str) -> None:
    exponent = CURRENCY_EXPONENT.get(currency.upper(), 2)
    whole = Decimal(abs(minor)).scaleb(-exponent)
    expected = f"{'-' if minor < 0 else ''}{whole:,.{exponent}f} {currency}"
    assert str(Money(minor, currency)) == expected


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 -./\n٣५x")), max_size=60))
def test_the_guards_first_question_counts_digits_as_findall_does(text: str) -> None:
    assert (_THIRTEEN_DIGITS.match(text) is not None) == (len(re.findall(r"\d", text)) >= 13)
