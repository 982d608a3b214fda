"""Portal users: the portal's own list of people and roles, linked to Slack users.

Rules are checked here, whatever the entry point (CLI or modal), and reported per field so the
modal can show each next to its input.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.changes import announce
from bot.db.dml import LIKE_ESCAPE, like_escaped
from bot.db.engine import SessionFactory
from bot.db.models import PortalUser
from bot.domain import PortalAccount, Source, UserPage
from bot.errors import FormErrors, InvalidInput, NotFound
from bot.ids import BlockId
from bot.roles import Action, Role
from bot.services.access import account
from bot.services.audit import AuditLog, AuditRecord, Outcome
from bot.usertext import clean, visible

USERNAME = re.compile(r"[A-Za-z0-9]{3,32}")
# A Slack member id: U (or W, on Enterprise Grid) then capital letters and digits.
SLACK_MEMBER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
SLACK_ID_HINT = "in Slack: the person's profile → ⋯ → Copy member ID, such as U0123ABCD"
# What is wrong with linking a Slack member id (no such person, deactivated), or None.
SlackMemberCheck = Callable[[str], Awaitable[str | None]]
_EMAIL = TypeAdapter(EmailStr)


@dataclass(frozen=True)
class NewUser:
    username: str
    full_name: str
    email: str
    role: str
    slack_user_id: str | None


def _field_errors(user: NewUser) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = user.username.strip()
    if "@" in name:
        errors[BlockId.USERNAME] = "A username is never an e-mail address: use letters and digits."
    elif not USERNAME.fullmatch(name):
        errors[BlockId.USERNAME] = "Use 3 to 32 letters and digits only (no spaces or symbols)."
    if not user.full_name.strip():
        errors[BlockId.FULL_NAME] = "Enter the person's full name."
    elif len(user.full_name.strip()) > 200:
        errors[BlockId.FULL_NAME] = "A full name has at most 200 characters."
    try:
        _EMAIL.validate_python(user.email.strip())
    except ValidationError:
        errors[BlockId.EMAIL] = "Enter a valid e-mail address, such as name@firm.com."
    if user.role not in {role.value for role in Role}:
        errors[BlockId.ROLE] = "Choose a role: viewer, staff, manager or admin."
    return errors


def _nothing() -> None:
    return None


def slack_id_shape(slack_user_id: str) -> str | None:
    """Why this is not a Slack member id, or None when it has the shape of one."""
    if SLACK_MEMBER_ID.fullmatch(slack_user_id):
        return None
    return f"{slack_user_id!r} is not a Slack member id ({SLACK_ID_HINT})."


class Users:
    def __init__(
        self,
        session_factory: SessionFactory,
        audit: AuditLog,
        clock: Clock = utcnow,
        *,
        changed: Callable[[], None] = _nothing,
    ) -> None:
        self._sessions = session_factory
        self._audit = audit
        self._clock = clock
        self._changed = changed  # told after every change, so cached actors are read again
        # Set where a Slack token is at hand (the bot, the CLI with SLACK_BOT_TOKEN): users.info.
        self.slack_members: SlackMemberCheck | None = None

    async def _slack_problem(self, slack_user_id: str | None) -> str | None:
        if slack_user_id is None:
            return None
        shape = slack_id_shape(slack_user_id)
        if shape is not None or self.slack_members is None:
            return shape
        return await self.slack_members(slack_user_id)

    async def add(
        self, actor: PortalAccount | None, user: NewUser, source: Source
    ) -> PortalAccount:
        """Create a portal user; every broken rule comes back at once as a field error."""
        user = replace(user, full_name=visible(user.full_name))  # from the CLI as from Slack
        errors = _field_errors(user)
        slack_problem = await self._slack_problem(user.slack_user_id)
        if slack_problem is not None:
            errors[BlockId.SLACK_USER] = slack_problem
        async with self._sessions.begin() as session:
            if BlockId.USERNAME not in errors and await _by_username(session, user.username):
                errors[BlockId.USERNAME] = f"The username {user.username.strip()} is taken."
            if user.slack_user_id and await session.scalar(
                select(PortalUser.username).where(PortalUser.slack_user_id == user.slack_user_id)
            ):
                errors[BlockId.SLACK_USER] = "That Slack user is already linked to a portal user."
            if errors:
                raise FormErrors(errors)
            now = self._clock()
            row = PortalUser(
                username=user.username.strip(),
                full_name=user.full_name.strip(),
                email=user.email.strip().lower(),
                role=user.role,
                active=True,
                slack_user_id=user.slack_user_id,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                raise FormErrors(
                    {BlockId.USERNAME: "That username or Slack user is taken."}
                ) from None
            created = account(row)
            self._audit.add(session, _done(actor, source, created, None, created))
            await announce(session)  # other processes drop their cached actors at the commit
        self._changed()
        return created

    async def get(self, username: str) -> PortalAccount:
        async with self._sessions() as session:
            row = await _by_username(session, username)
        if row is None:
            raise NotFound(f"No portal user is named {username}.")
        return account(row)

    async def search(self, text: str | None = None, page: int = 0, per_page: int = 10) -> UserPage:
        query = select(PortalUser).order_by(PortalUser.username)
        if text and text.strip():
            pattern = f"%{like_escaped(clean(text).strip().lower())}%"
            query = query.where(
                or_(
                    func.lower(PortalUser.username).like(pattern, escape=LIKE_ESCAPE),
                    func.lower(PortalUser.full_name).like(pattern, escape=LIKE_ESCAPE),
                    func.lower(PortalUser.email).like(pattern, escape=LIKE_ESCAPE),
                )
            )
        query = query.offset(page * per_page).limit(per_page + 1)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return UserPage(tuple(account(r) for r in rows[:per_page]), page, len(rows) > per_page)

    async def set_role(
        self, actor: PortalAccount | None, username: str, role: str, source: Source
    ) -> PortalAccount:
        if role not in {r.value for r in Role}:
            raise InvalidInput(f"{role} is not a role: use viewer, staff, manager or admin.")
        return await self._change(actor, username, source, role=role)

    async def set_active(
        self, actor: PortalAccount | None, username: str, active: bool, source: Source
    ) -> PortalAccount:
        return await self._change(actor, username, source, active=active)

    async def set_slack(
        self, actor: PortalAccount | None, username: str, slack_user_id: str, source: Source
    ) -> PortalAccount:
        """Link a portal user to another Slack user: how a mistyped id is put right."""
        return await self.edit(actor, username, None, slack_user_id, source)

    async def edit(
        self,
        actor: PortalAccount | None,
        username: str,
        role: str | None,
        slack_user_id: str | None,
        source: Source,
    ) -> PortalAccount:
        """Change the role and (when given) the linked Slack user; each checked first."""
        if role is not None and role not in {r.value for r in Role}:
            raise InvalidInput(f"{role} is not a role: use viewer, staff, manager or admin.")
        slack_user_id = slack_user_id.strip() if slack_user_id else None
        problem = await self._slack_problem(slack_user_id)
        if problem is not None:
            raise FormErrors({BlockId.SLACK_USER: problem})
        return await self._change(actor, username, source, role=role, slack_user_id=slack_user_id)

    async def _change(
        self,
        actor: PortalAccount | None,
        username: str,
        source: Source,
        *,
        role: str | None = None,
        active: bool | None = None,
        slack_user_id: str | None = None,
    ) -> PortalAccount:
        async with self._sessions.begin() as session:
            row = await _by_username(session, username, for_update=True)
            if row is None:
                raise NotFound(f"No portal user is named {username}.")
            before = account(row)
            if slack_user_id is not None and slack_user_id != row.slack_user_id:
                taken = await session.scalar(
                    select(PortalUser.username).where(PortalUser.slack_user_id == slack_user_id)
                )
                if taken:
                    raise FormErrors(
                        {BlockId.SLACK_USER: f"That Slack user is already linked to {taken}."}
                    )
                row.slack_user_id = slack_user_id
            loses_admin = (
                before.role == Role.ADMIN
                and before.active
                and ((role is not None and role != Role.ADMIN) or active is False)
            )
            if loses_admin and await _active_admins(session) <= 1:
                raise InvalidInput(
                    f"{username} is the last active admin: make someone else an admin first."
                )
            if role is not None:
                row.role = role
            if active is not None:
                row.active = active
            row.updated_at = self._clock()
            after = account(row)
            self._audit.add(session, _done(actor, source, after, before, after))
            await announce(session)  # other processes drop their cached actors at the commit
        self._changed()
        return after


def _done(
    actor: PortalAccount | None,
    source: Source,
    target: PortalAccount,
    before: PortalAccount | None,
    after: PortalAccount,
) -> AuditRecord:
    def state(user: PortalAccount | None) -> dict[str, object] | None:
        if user is None:
            return None
        linked = {"slack_user_id": user.slack_user_id} if relinked else {}
        return {"role": user.role, "active": user.active, **linked}

    relinked = before is not None and before.slack_user_id != after.slack_user_id

    return AuditRecord(
        action=Action.MANAGE_USERS.value,
        outcome=Outcome.DONE,
        source=source,
        actor=actor,
        target_type="user",
        target_id=target.username,
        before=state(before),
        after=state(after),
    )


async def _by_username(
    session: AsyncSession, username: str, *, for_update: bool = False
) -> PortalUser | None:
    query = select(PortalUser).where(func.lower(PortalUser.username) == username.strip().lower())
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def _active_admins(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count()).where(PortalUser.role == Role.ADMIN.value, PortalUser.active.is_(True))
    )
    return int(count or 0)
