"""Matters and the people on them, who are told of refunds and disputes on the matter's payments."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import delete, select

from bot.db.engine import SessionFactory
from bot.db.models import Matter, MatterMember
from bot.errors import InvalidInput

_EMAIL = TypeAdapter(EmailStr)


@dataclass(frozen=True)
class MatterInfo:
    id: str
    name: str
    members: tuple[str, ...]


def _emails(members: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for member in members:
        address = member.strip().lower()
        if not address:
            continue
        try:
            _EMAIL.validate_python(address)
        except ValidationError:
            raise InvalidInput(f"{member!r} is not a valid e-mail address") from None
        if address not in cleaned:
            cleaned.append(address)
    return cleaned


class Matters:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def put(self, matter_id: str, name: str, members: Iterable[str]) -> MatterInfo:
        """Create or replace a matter and its member list."""
        matter_id, name = matter_id.strip(), name.strip()
        if not matter_id or not name:
            raise InvalidInput("a matter needs an id and a name")
        emails = _emails(members)
        async with self._sessions.begin() as session:
            await session.merge(Matter(id=matter_id, name=name))
            await session.execute(delete(MatterMember).where(MatterMember.matter_id == matter_id))
            session.add_all(MatterMember(matter_id=matter_id, email=e) for e in emails)
        return MatterInfo(matter_id, name, tuple(emails))

    async def import_csv(self, path: Path) -> list[MatterInfo]:
        """Rows of matter,name,member: one member a row, or several separated by ';'."""
        grouped: dict[str, tuple[str, list[str]]] = {}
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"matter", "name", "member"} - set(reader.fieldnames or [])
            if missing:
                raise InvalidInput(
                    f"{path.name} needs the columns matter, name, member (missing {', '.join(sorted(missing))})"
                )
            for line, row in enumerate(reader, start=2):
                matter = (row.get("matter") or "").strip()
                if not matter:
                    raise InvalidInput(f"{path.name} line {line}: no matter id")
                _, members = grouped.setdefault(matter, ((row.get("name") or "").strip(), []))
                members.extend((row.get("member") or "").split(";"))
        return [await self.put(m, name, members) for m, (name, members) in grouped.items()]

    async def get(self, matter_id: str) -> MatterInfo | None:
        async with self._sessions() as session:
            matter = await session.get(Matter, matter_id)
            if matter is None:
                return None
            emails = (
                await session.scalars(
                    select(MatterMember.email)
                    .where(MatterMember.matter_id == matter_id)
                    .order_by(MatterMember.id)
                )
            ).all()
        return MatterInfo(matter.id, matter.name, tuple(emails))
