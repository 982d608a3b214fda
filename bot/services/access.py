"""The one authorization point: every request, from any entry point, is checked here.

Deny by default: a Slack user with no portal account, an inactive one, or a role the roles table
does not allow is refused, and the refusal is written to the audit log.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.db.engine import SessionFactory
from bot.db.models import PortalUser
from bot.domain import PortalAccount, Source
from bot.errors import Denied
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


def account(row: PortalUser) -> PortalAccount:
    return PortalAccount(
        username=row.username,
        full_name=row.full_name,
        email=row.email,
        role=row.role,
        active=row.active,
        slack_user_id=row.slack_user_id,
    )


class Access:
    def __init__(self, session_factory: SessionFactory, audit: AuditLog) -> None:
        self._sessions = session_factory
        self._audit = audit

    async def actor(self, slack_user_id: str) -> PortalAccount | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(PortalUser).where(PortalUser.slack_user_id == slack_user_id)
            )
        return account(row) if row else None

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
