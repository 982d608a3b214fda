"""Roles on every action, refusals, portal user management and the audit log, end to end."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.app import create_bot
from bot.db.models import AuditEntry
from bot.handlers.routes import BUTTONS, COMMANDS, EVENTS, MODALS
from bot.ids import ActionId, CallbackId, EventName, Subcommand
from bot.roles import ACTION_PERMISSION, Action, Role, allowed
from bot.services.users import Users
from bot.store import open_store
from bot.web import create_web_app
from bot.workspace.sender import SlackSender
from tests.conftest import SIGNING_SECRET, Harness, eventually, free_port, opened_modal

NO_ACCESS = "no Payments Portal access"


async def audit_rows(harness: Harness) -> list[AuditEntry]:
    async with harness.store.sessions() as session:
        return list((await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all())


def denied_text(answer_json: dict) -> str:
    return json.dumps(answer_json)


def test_every_entry_point_has_a_rule() -> None:
    """A new subcommand, button, modal or event without a rule fails here (and is refused live)."""
    assert set(COMMANDS) == set(Subcommand)
    assert set(BUTTONS) == set(ActionId)
    assert set(MODALS) == set(CallbackId)
    assert set(EVENTS) == set(EventName)
    assert set(ACTION_PERMISSION) == set(Action)


async def test_unknown_slack_user_is_refused_and_audited(harness: Harness) -> None:
    answer = await harness.slack.command("UNOBODY", "lookup txn_anything")
    assert NO_ACCESS in answer.json["text"]
    assert "blocks" not in answer.json
    rows = await audit_rows(harness)
    assert [(r.actor_slack_id, r.action, r.outcome, r.source) for r in rows] == [
        ("UNOBODY", "lookup", "denied", "slack_command")
    ]


async def test_a_card_number_typed_by_someone_refused_is_masked_in_the_audit_log(
    harness: Harness,
) -> None:
    """The refusal is audited with what was typed, a card number masked; a long line is cut
    only after masking, so a number at the end is still recognised."""
    padding = "x" * 70
    await harness.slack.command("UNOBODY", f"lookup {padding} 4111 1111 1111 1111")
    await harness.slack.command("UNOBODY", "refund 4111111111111111")
    targets = [row.target_id for row in await audit_rows(harness)]
    assert targets == [f"{padding} [Visa •••• 1111]"[:80], "[Visa •••• 1111]"]


async def test_deactivated_user_is_refused(harness: Harness) -> None:
    await harness.user("ada", "admin")
    staff = await harness.user("sam", "staff")
    await harness.store.services.users.set_active(None, "sam", False, source=_cli())
    answer = await harness.slack.command(staff, "help")
    assert NO_ACCESS in answer.json["text"]
    assert (await audit_rows(harness))[-1].outcome == "denied"


async def test_viewer_asking_to_refund_is_told_the_role_needed(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    txn = await harness.charge()
    answer = await harness.slack.command(viewer, f"refund {txn.id}")
    assert "needs the staff role" in answer.json["text"]
    assert harness.fake.calls_to("views.open") == []
    last = (await audit_rows(harness))[-1]
    assert (last.actor_username, last.action, last.outcome, last.target_id) == (
        "vic",
        "request_refund",
        "denied",
        txn.id,
    )


async def test_staff_listing_users_is_refused(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    answer = await harness.slack.command(staff, "users")
    assert "needs the admin role" in answer.json["text"]
    last = (await audit_rows(harness))[-1]
    assert (last.action, last.outcome) == ("manage_users", "denied")


def _cli():  # type: ignore[no-untyped-def]
    from bot.domain import Source

    return Source.CLI


ROLE_CASES = [(role, sub) for role in Role for sub in Subcommand]


@pytest.mark.parametrize(("role", "subcommand"), ROLE_CASES)
async def test_every_subcommand_against_every_role(
    harness: Harness, role: Role, subcommand: Subcommand
) -> None:
    """The live answer agrees with the roles table for every subcommand and role."""
    user = await harness.user("person", role.value)
    answer = await harness.slack.command(user, f"{subcommand.value} txn_nonexistent")
    refused = "role or higher" in denied_text(answer.json or {}) if answer.json else False
    expected = allowed(role, COMMANDS[subcommand])
    assert refused is (not expected), (role, subcommand, answer.text[:300])


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action_id", list(ActionId))
async def test_every_button_against_every_role(
    harness: Harness, role: Role, action_id: ActionId
) -> None:
    user = await harness.user("person", role.value)
    channel = "C0GENERAL"
    await harness.slack.block_action(user, action_id.value, value="nothing", channel_id=channel)
    expected = allowed(role, BUTTONS[action_id])
    rows = await audit_rows(harness)
    denials = [r for r in rows if r.outcome == "denied" and r.action == BUTTONS[action_id].value]
    assert bool(denials) is (not expected), (role, action_id, [(r.action, r.reason) for r in rows])


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("callback_id", list(CallbackId))
async def test_every_modal_against_every_role(
    harness: Harness, role: Role, callback_id: CallbackId
) -> None:
    user = await harness.user("person", role.value)
    view = {
        "id": "VFORGED",
        "type": "modal",
        "callback_id": callback_id.value,
        "blocks": [],
        "private_metadata": "nothing",
        "hash": "h",
    }
    await harness.slack.view_submission(user, view, {})
    expected = allowed(role, MODALS[callback_id])
    rows = await audit_rows(harness)
    denials = [r for r in rows if r.outcome == "denied" and r.action == MODALS[callback_id].value]
    assert bool(denials) is (not expected), (role, callback_id)


async def test_help_lists_only_what_the_role_may_do(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    admin = await harness.user("ada", "admin")
    viewer_help = json.dumps((await harness.slack.command(viewer, "help")).json["blocks"])
    admin_help = json.dumps((await harness.slack.command(admin, "help")).json["blocks"])
    assert "/pay lookup" in viewer_help and "/pay refund" not in viewer_help
    assert "/pay users" not in viewer_help and "/pay users" in admin_help


async def test_me_shows_profile_and_permissions(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    shown = json.dumps((await harness.slack.command(staff, "me")).json["blocks"])
    assert "sam@firm.com" in shown and "staff" in shown and "request a refund" in shown
    assert "manage portal users" not in shown


async def open_add_modal(harness: Harness, admin: str) -> dict:
    listing = await harness.slack.command(admin, "users")
    assert listing.status == 200
    await harness.slack.block_action(admin, "users_add", message=listing.json)
    return await opened_modal(harness.fake, admin, "add-user modal")


@pytest.mark.parametrize(
    ("fields", "block_id", "says"),
    [
        ({"username": "ann@firm.com"}, "username", "never an e-mail"),
        ({"username": "an"}, "username", "3 to 32"),
        ({"username": "ann lee"}, "username", "letters and digits"),
        ({"username": "a" * 33}, "username", "3 to 32"),
        ({"username": "ada"}, "username", "taken"),
        ({"full_name": "   "}, "full_name", "full name"),
        ({"email": "not-an-email"}, "email", "valid e-mail"),
        ({"slack_user": "UADA"}, "slack_user", "already linked"),
    ],
)
async def test_add_user_rules_are_field_errors(
    harness: Harness, fields: dict[str, str], block_id: str, says: str
) -> None:
    admin = await harness.user("ada", "admin")
    modal = await open_add_modal(harness, admin)
    values = {"role": "staff", "username": "ann", "full_name": "Ann Lee", "email": "ann@firm.com"}
    values.update(fields)
    answer = await harness.slack.submit(admin, modal, **values)
    assert answer.json["response_action"] == "errors"
    assert says in answer.json["errors"][block_id]
    assert (await harness.store.services.users.search("ann")).users == ()


async def test_add_user_finds_slack_user_by_email(harness: Harness) -> None:
    admin = await harness.user("ada", "admin")
    harness.fake.add_user("UANN", name="ann", real_name="Ann Lee", email="ann@firm.com")
    modal = await open_add_modal(harness, admin)
    answer = await harness.slack.submit(
        admin, modal, role="staff", username="ann", full_name="Ann Lee", email="ann@firm.com"
    )
    assert answer.json["response_action"] == "update"
    ann = await harness.store.services.users.get("ann")
    assert ann.slack_user_id == "UANN" and ann.role == "staff"
    assert harness.fake.calls_to("users.lookupByEmail")
    last = (await audit_rows(harness))[-1]
    assert (last.actor_username, last.action, last.target_id, last.outcome, last.source) == (
        "ada",
        "manage_users",
        "ann",
        "done",
        "slack_modal",
    )


async def test_last_active_admin_cannot_be_deactivated_or_demoted(harness: Harness) -> None:
    admin = await harness.user("ada", "admin")
    listing = await harness.slack.command(admin, "users")
    await harness.slack.block_action(admin, "users_toggle", value="ada", message=listing.json)
    await harness.fake.wait_for(
        lambda: (
            any("last active admin" in m.text for m in harness.fake.ephemerals(admin))
            or any("last active admin" in json.dumps(body) for _, body in harness.fake.responses)
        ),
        what="last-admin refusal",
    )
    assert (await harness.store.services.users.get("ada")).active
    await harness.slack.block_action(admin, "users_edit", value="ada", message=listing.json)
    modal = await opened_modal(harness.fake, admin, "edit modal")
    answer = await harness.slack.submit(admin, modal, role="staff")
    assert answer.json["response_action"] == "errors"
    assert "last active admin" in answer.json["errors"]["role"]
    assert (await harness.store.services.users.get("ada")).role == "admin"


async def test_admin_deactivates_and_activates_a_user(harness: Harness) -> None:
    admin = await harness.user("ada", "admin")
    await harness.user("sam", "staff")
    listing = await harness.slack.command(admin, "users")
    await harness.slack.block_action(admin, "users_toggle", value="sam", message=listing.json)
    users = harness.store.services.users
    await eventually(lambda: _inactive(users, "sam"), what="sam deactivated")
    listing = await harness.slack.command(admin, "users")
    await harness.slack.block_action(admin, "users_toggle", value="sam", message=listing.json)
    await eventually(lambda: _active(users, "sam"), what="sam active again")


async def _active(users: Users, username: str) -> bool:
    return (await users.get(username)).active


async def _inactive(users: Users, username: str) -> bool:
    return not (await users.get(username)).active


async def test_audit_command_shows_entries_for_a_transaction(harness: Harness) -> None:
    manager = await harness.user("meg", "manager")
    staff = await harness.user("sam", "staff")
    txn = await harness.charge()
    await harness.slack.command(staff, f"lookup {txn.id}")
    shown = json.dumps((await harness.slack.command(manager, f"audit {txn.id}")).json["blocks"])
    assert "sam" in shown and "lookup" in shown and txn.id in shown


async def test_a_change_in_this_process_is_seen_by_the_next_request(harness: Harness) -> None:
    """Actors are cached for a second; a change made here clears them at once."""
    await harness.user("ada", "admin")
    staff = await harness.user("sam", "staff")
    txn = await harness.charge()
    assert txn.id in json.dumps((await harness.slack.command(staff, f"lookup {txn.id}")).json)
    await harness.store.services.users.set_role(None, "sam", "viewer", source=_cli())
    answer = await harness.slack.command(staff, f"refund {txn.id}")
    assert "needs the staff role" in answer.json["text"]
    await harness.store.services.users.set_active(None, "sam", False, source=_cli())
    assert NO_ACCESS in (await harness.slack.command(staff, "help")).json["text"]


async def test_a_deactivation_by_another_process_takes_effect_within_two_seconds(
    harness: Harness,
) -> None:
    """The CLI (or a second bot) changes the database behind this process's cache: the cache
    lives at most a second, so the refusal comes within about that."""
    await harness.user("ada", "admin")
    staff = await harness.user("sam", "staff")
    assert "Paybot help" in json.dumps((await harness.slack.command(staff, "help")).json)
    other = await open_store(harness.bot.settings, clock=harness.clock)
    try:
        await other.services.users.set_active(None, "sam", False, source=_cli())
    finally:
        await other.close()
    deactivated = asyncio.get_running_loop().time()

    async def refused() -> bool:
        return NO_ACCESS in json.dumps((await harness.slack.command(staff, "help")).json)

    await eventually(refused, timeout=2.0, what="sam refused after the CLI deactivated him")
    assert asyncio.get_running_loop().time() - deactivated <= 2.0


async def test_commands_beyond_the_per_minute_limit_are_refused(harness: Harness) -> None:
    harness.bot.settings.paybot_rate_limit_per_minute = 3
    bot = await create_bot(harness.bot.settings, clock=harness.clock, store=harness.store)
    port = free_port()
    runner = web.AppRunner(create_web_app(bot, close_bot=False))  # the store stays the harness's
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        staff = await harness.user("sam", "staff")
        viewer = await harness.user("vic", "viewer")
        sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, harness.fake)
        answers = [(await sender.command(staff, "help")).json for _ in range(4)]
        assert all("faster than" not in json.dumps(a) for a in answers[:3])
        assert "faster than 3 a minute" in answers[3]["text"]
        assert "faster than" not in json.dumps((await sender.command(viewer, "help")).json)
        await sender.close()
    finally:
        await runner.cleanup()
        await bot.worker.stop()
        await bot.http.close()


async def test_a_deactivated_user_is_refused_at_once_though_their_access_was_cached(
    harness: Harness,
) -> None:
    """The actor is cached per Slack user (services/access.py); `/pay users` drops it."""
    admin = await harness.user("ada", "admin")
    staff = await harness.user("sam", "staff")
    txn = await harness.charge()
    for _ in range(2):
        assert f"Payment {txn.id}" in (await harness.slack.command(staff, f"lookup {txn.id}")).text
    listing = await harness.slack.command(admin, "users")
    await harness.slack.block_action(admin, "users_toggle", value="sam", message=listing.json)
    await harness.fake.wait_for(
        lambda: any("sam is deactivated" in json.dumps(b) for _, b in harness.fake.responses),
        what="sam deactivated",
    )
    refused = await harness.slack.command(staff, f"lookup {txn.id}")
    assert NO_ACCESS in refused.text and f"Payment {txn.id}" not in refused.text
