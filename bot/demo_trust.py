"""The demo's trust story, told before the bot starts so the visitor finds it in the channels:
a trust payment refunded (the approval's thread holds its bookkeeping checklist, with the
Actionstep steps) and a trust payment charged back (announced in the payments channel as a
debit on trust, its thread holding the cover checklist)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.domain import Account, Source, Transaction
from bot.processors.sandbox import SandboxSimulator
from bot.store import Store

Pay = Callable[..., Awaitable[Transaction]]


async def trust_story(
    store: Store, simulator: SandboxSimulator, pay: Pay, staff_id: str, manager_id: str, matter: Any
) -> tuple[Transaction, Transaction]:
    """The refunded trust payment and the charged-back one."""
    services = store.services
    staff, manager = await services.access.actor(staff_id), await services.access.actor(manager_id)
    assert staff is not None and manager is not None
    refunded = await pay(
        "1500.00",
        matter.id,
        matter.payers[0],
        account=Account.TRUST,
        description=f"Retainer top-up for {matter.id}",
    )
    request = await services.refunds.request(
        staff,
        refunded.id,
        "The matter settled before the work began: the unused retainer goes back to the client.",
        Source.COMMAND,
    )
    await services.refunds.approve(manager, request.id, Source.BUTTON)
    await services.refunds.execute(request.id)  # the worker's job, done now: it finds it done
    await simulator.settle()
    await services.refunds.check_pending()  # settled: its bookkeeping checklist is owed
    await services.events.start_at_end()  # what the processor does from here is news
    charged_back = await pay(
        "3200.00",
        matter.id,
        matter.payers[-1],
        account=Account.TRUST,
        description=f"Retainer deposit for {matter.id}",
    )
    await simulator.dispute(charged_back.id, reason="fraudulent")
    return refunded, charged_back
