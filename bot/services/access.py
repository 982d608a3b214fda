"""The one authorization point: every request, from any entry point, is checked here.

Deny by default: a Slack user with no portal account, an inactive one, or a role the roles table
does not allow is refused, and the refusal is written to the audit log.
"""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import bindparam, select

from bot.db.engine import SessionFactory, engine_of
from bot.db.hot import HotRead
from bot.db.models import PortalUser
from bot.db.records import names, record
from bot.domain import PortalAccount, Source
from bot.errors import Denied, PaybotError
from bot.freshness import SQLITE_TTL_SECONDS, Freshness, Recent
from bot.roles import Action, Role, allowed, lowest_role
from bot.services.audit import AuditLog, AuditRecord, Outcome

NO_ACCESS = "You have no Payments Portal access: ask an admin."


class NoAccess(Denied):
    def __init__(self) -> None:
        super().__init__(NO_ACCESS)


class RoleDenied(Denied):
    def __init__(self, action: Action, role: Role) -> None:
        needed = lowest_role(action)
        super().__init__(
            f"Your role ({role.value}) cannot {action.value.replace('_', ' ')}: "
            f"it needs the {needed.value} role or higher. Ask an admin."
        )
        self.needed = needed


def may(actor: PortalAccount, action: Action) -> bool:
    """What the roles table allows an active account (the gate has refused an inactive one)."""
    return actor.active and allowed(Role(actor.role), action)


def account(row: PortalUser) -> PortalAccount:
    return record(PortalAccount, row)


# Every request's actor, when not known already: read in one driver call (db/hot.py).
ACTOR_READ = HotRead(
    select(*(getattr(PortalUser, name) for name in names(PortalAccount))).where(
        PortalUser.slack_user_id == bindparam("slack_user_id")
    )
)


class Access:
    def __init__(
        self,
        session_factory: SessionFactory,
        audit: AuditLog,
        freshness: Freshness | None = None,
    ) -> None:
        self._sessions = session_factory
        self._engine = engine_of(session_factory)
        self._audit = audit
        self.freshness = freshness or Freshness(SQLITE_TTL_SECONDS)
        # The actor's account and role per Slack user: a request's authorization costs no
        # database round trip while nothing changed (bot/freshness.py, db/changes.py).
        self._actors: Recent[str, PortalAccount | None] = Recent(self.freshness)

    async def actor(self, slack_user_id: str) -> PortalAccount | None:
        """The portal account linked to a Slack user, as last read while nothing changed."""
        known, cached = self._actors.get(slack_user_id)
        if known:
            return cached
        generation = self._actors.begin()
        rows = await ACTOR_READ.all(self._engine, {"slack_user_id": slack_user_id})
        found = (
            PortalAccount(**{column.key: value for column, value in rows[0].items()})
            if rows
            else None
        )
        self._actors.put(slack_user_id, found, generation)
        return found

    def forget(self) -> None:
        """A portal user was added or changed: resolve everyone afresh from now on."""
        self.freshness.forget()

    async def authorize(
        self,
        slack_user_id: str | None,
        action: Action | None,
        source: Source,
        *,
        target_type: str | None = None,
        target_id: str | None = None,
    ) -> PortalAccount:
        """The actor if allowed; otherwise the refusal is audited and ``Denied`` raised.

        ``action`` None means the entry point has no rule in the roles table: refused.
        """
        actor = await self.actor(slack_user_id) if slack_user_id else None
        error: Denied | None = None
        if actor is None or not actor.active:
            error = NoAccess()
        elif action is None:
            error = Denied("That is not something Paybot offers.")
        elif not allowed(Role(actor.role), action):
            error = RoleDenied(action, Role(actor.role))
        if error is None and actor is not None:
            return actor
        await self._audit.record(
            AuditRecord(
                action=action.value if action else "unknown",
                outcome=Outcome.DENIED,
                source=source,
                actor=actor,
                slack_user_id=slack_user_id,
                target_type=target_type,
                target_id=target_id,
                reason=error.message if error else None,
            )
        )
        assert error is not None
        raise error

    def can(self, actor: PortalAccount, action: Action) -> bool:
        return actor.active and allowed(Role(actor.role), action)


async def four_eyes(
    audit: AuditLog,
    actor: PortalAccount,
    requester_username: str,
    action: Action,
    source: Source,
    *,
    target_type: str,
    target_id: str,
    what: str,
) -> None:
    """Nobody decides their own request: the refusal is audited and raised."""
    if requester_username != actor.username:
        return
    message = f"You {what}: another manager or admin must decide it (four eyes)."
    await audit.record(
        AuditRecord(
            action.value,
            Outcome.DENIED,
            source,
            actor,
            target_type=target_type,
            target_id=target_id,
            reason=message,
        )
    )
    raise Denied(message)


async def too_late(
    audit: AuditLog,
    actor: PortalAccount | None,
    action: str,
    source: Source,
    refusal: PaybotError,
    *,
    target_type: str,
    target_id: str,
) -> NoReturn:
    """A decision that lost the race (already accepted, already approved): audited as refused,
    so the log never claims one decision twice, and raised. Workers (no actor) are not audited."""
    if actor is not None:
        await audit.record(
            AuditRecord(
                action,
                Outcome.DENIED,
                source,
                actor,
                target_type=target_type,
                target_id=target_id,
                reason=refusal.message,
            )
        )
    raise refusal
