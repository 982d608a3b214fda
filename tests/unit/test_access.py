"""Who the actor is and what they may do, against a real SQLite database: every refusal audited."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from bot.clock import ManualClock
from bot.db.models import AuditEntry, PortalUser
from bot.domain import PortalAccount, Source
from bot.errors import Denied, RefundRefused
from bot.freshness import Freshness
from bot.roles import Action, Role
from bot.services.access import NO_ACCESS, Access, NoAccess, RoleDenied, four_eyes, too_late
from bot.services.users import NewUser, Users
from bot.store import Store


async def add(store: Store, username: str, role: str, *, linked: bool = True) -> PortalAccount:
    slack_id = f"U{username.upper()}" if linked else None
    return await store.services.users.add(
        None,
        NewUser(username, username.title(), f"{username}@firm.com", role, slack_id),
        Source.CLI,
    )


async def denials(store: Store) -> list[AuditEntry]:
    async with store.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.outcome == "denied").order_by(AuditEntry.id)
        return list((await session.scalars(query)).all())


class Ticks:
    """A monotonic clock the test moves by hand, for the actor cache's time to live."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_linked_slack_user_is_their_portal_account_and_an_unlinked_one_is_nobody(
    store: Store,
) -> None:
    dana = await add(store, "dana", "staff")
    await add(store, "lee", "viewer", linked=False)
    assert await store.services.access.actor("UDANA") == dana
    assert await store.services.access.actor("ULEE") is None
    assert await store.services.access.actor("UNOBODY") is None


async def test_an_allowed_actor_comes_back_and_nothing_is_audited_as_denied(store: Store) -> None:
    dana = await add(store, "dana", "manager")
    actor = await store.services.access.authorize(
        "UDANA", Action.DECIDE_REFUND, Source.BUTTON, target_type="refund", target_id="r1"
    )
    assert actor == dana
    assert await denials(store) == []


async def test_an_unknown_slack_user_is_refused_and_the_refusal_names_their_slack_id(
    store: Store,
) -> None:
    with pytest.raises(NoAccess, match="no Payments Portal access"):
        await store.services.access.authorize(
            "USTRANGER", Action.LOOKUP, Source.COMMAND, target_type="transaction", target_id="t1"
        )
    [row] = await denials(store)
    assert (row.actor_username, row.actor_slack_id, row.actor_role) == (None, "USTRANGER", None)
    assert (row.action, row.source, row.target_type, row.target_id, row.reason) == (
        "lookup",
        "slack_command",
        "transaction",
        "t1",
        NO_ACCESS,
    )


async def test_a_request_with_no_slack_user_at_all_is_refused_and_audited(store: Store) -> None:
    with pytest.raises(NoAccess):
        await store.services.access.authorize(None, Action.HELP, Source.EVENT)
    [row] = await denials(store)
    assert (row.actor_slack_id, row.action, row.reason) == (None, "help", NO_ACCESS)


async def test_an_inactive_portal_user_is_refused_whatever_their_role(store: Store) -> None:
    await add(store, "root", "admin")  # the last active admin cannot be deactivated
    await add(store, "dana", "admin")
    await store.services.users.set_active(None, "dana", False, Source.CLI)
    with pytest.raises(NoAccess):
        await store.services.access.authorize("UDANA", Action.LOOKUP, Source.COMMAND)
    [row] = await denials(store)
    assert (row.actor_username, row.actor_role, row.reason) == ("dana", "admin", NO_ACCESS)
    dana = await store.services.access.actor("UDANA")
    assert dana is not None and not store.services.access.can(dana, Action.LOOKUP)


async def test_an_entry_point_with_no_rule_in_the_roles_table_is_refused_to_everyone(
    store: Store,
) -> None:
    await add(store, "root", "admin")
    with pytest.raises(Denied, match="not something Paybot offers"):
        await store.services.access.authorize("UROOT", None, Source.BUTTON)
    [row] = await denials(store)
    assert (row.actor_username, row.action) == ("root", "unknown")


@pytest.mark.parametrize(
    ("role", "allowed", "refused", "needed"),
    [
        (Role.VIEWER, Action.LOOKUP, Action.REQUEST_REFUND, Role.STAFF),
        (Role.STAFF, Action.REQUEST_REFUND, Action.DECIDE_REFUND, Role.MANAGER),
        (Role.MANAGER, Action.AUDIT, Action.MANAGE_USERS, Role.ADMIN),
    ],
)
async def test_a_role_may_do_what_the_table_gives_it_and_is_told_which_role_the_rest_needs(
    store: Store, role: Role, allowed: Action, refused: Action, needed: Role
) -> None:
    person = await add(store, "dana", role.value)
    access = store.services.access
    assert await access.authorize("UDANA", allowed, Source.COMMAND) == person
    assert access.can(person, allowed) and not access.can(person, refused)
    with pytest.raises(RoleDenied) as denied:
        await access.authorize("UDANA", refused, Source.COMMAND, target_id="x1")
    assert denied.value.needed is needed
    assert f"Your role ({role.value})" in denied.value.message
    assert f"needs the {needed.value} role" in denied.value.message
    [row] = await denials(store)
    assert (row.actor_username, row.actor_role, row.action, row.target_id, row.reason) == (
        "dana",
        role.value,
        refused.value,
        "x1",
        denied.value.message,
    )


async def test_twenty_refusals_at_once_are_twenty_audit_rows(store: Store) -> None:
    results = await asyncio.gather(
        *(
            store.services.access.authorize(f"USTRANGER{n}", Action.LOOKUP, Source.COMMAND)
            for n in range(20)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(result, NoAccess) for result in results)
    rows = await denials(store)
    assert sorted(row.actor_slack_id or "" for row in rows) == sorted(
        f"USTRANGER{n}" for n in range(20)
    )


async def test_a_change_made_here_is_seen_at_once_and_one_made_elsewhere_within_the_ttl(
    store: Store, clock: ManualClock
) -> None:
    ticks = Ticks()
    access = Access(store.sessions, store.services.audit, Freshness(1.0, monotonic=ticks))
    users = Users(store.sessions, store.services.audit, clock, changed=access.forget)
    await add(store, "root", "admin")
    await add(store, "dana", "staff")
    assert (await access.authorize("UDANA", Action.LOOKUP, Source.COMMAND)).role == "staff"

    await users.set_role(None, "dana", "manager", Source.CLI)
    assert (await access.authorize("UDANA", Action.DECIDE_REFUND, Source.BUTTON)).role == "manager"

    async with store.sessions.begin() as session:  # another process (the CLI) deactivates her
        await session.execute(
            update(PortalUser).where(PortalUser.username == "dana").values(active=False)
        )
    assert (await access.authorize("UDANA", Action.LOOKUP, Source.COMMAND)).active
    ticks.now += 1.5
    with pytest.raises(NoAccess):
        await access.authorize("UDANA", Action.LOOKUP, Source.COMMAND)


async def test_nobody_decides_their_own_request_and_the_refusal_is_audited(store: Store) -> None:
    dana = await add(store, "dana", "manager")
    common = {"target_type": "refund", "target_id": "r1", "what": "asked for this refund"}
    await four_eyes(
        store.services.audit, dana, "sam", Action.DECIDE_REFUND, Source.BUTTON, **common
    )
    assert await denials(store) == []
    with pytest.raises(Denied, match="another manager or admin must decide it"):
        await four_eyes(
            store.services.audit, dana, "dana", Action.DECIDE_REFUND, Source.BUTTON, **common
        )
    [row] = await denials(store)
    assert (row.actor_username, row.action, row.target_id) == ("dana", "decide_refund", "r1")
    assert (
        row.reason
        == "You asked for this refund: another manager or admin must decide it (four eyes)."
    )


async def test_a_decision_that_lost_the_race_is_audited_for_a_person_and_not_for_a_worker(
    store: Store,
) -> None:
    dana = await add(store, "dana", "manager")
    refusal = RefundRefused("This refund was already approved.")
    for actor in (None, dana):
        with pytest.raises(RefundRefused) as raised:
            await too_late(
                store.services.audit,
                actor,
                "decide_refund",
                Source.BUTTON,
                refusal,
                target_type="refund",
                target_id="r1",
            )
        assert raised.value is refusal
    [row] = await denials(store)
    assert (row.actor_username, row.reason) == ("dana", "This refund was already approved.")
