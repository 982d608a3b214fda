"""Matters and the people on them, who are told of refunds and disputes on the matter's payments."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

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


def _matter(matter_id: str, name: str, members: Iterable[str]) -> MatterInfo:
    matter_id, name = matter_id.strip(), name.strip()
    if not matter_id or not name:
        raise InvalidInput("a matter needs an id and a name")
    return MatterInfo(matter_id, name, tuple(_emails(members)))


async def _replace(session: AsyncSession, matter: MatterInfo) -> None:
    await session.merge(Matter(id=matter.id, name=matter.name))
    await session.execute(delete(MatterMember).where(MatterMember.matter_id == matter.id))
    session.add_all(MatterMember(matter_id=matter.id, email=e) for e in matter.members)


def _decoded(path: Path) -> str:
    """UTF-8, with or without the byte-order mark Excel's "CSV UTF-8" puts first."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{path.name} line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save it "
            "as CSV UTF-8 and import it again"
        ) from None


def read_matters_csv(path: Path) -> list[MatterInfo]:
    """The matters a matter,name,member file holds, or InvalidInput naming every bad line."""
    handle = io.StringIO(_decoded(path), newline="")
    reader = csv.reader(handle, strict=True)
    try:
        header = [column.strip().lower() for column in next(reader, [])]
    except csv.Error as exc:
        raise InvalidInput(f"{path.name} line 1: {exc}") from None
    missing = {"matter", "name", "member"} - set(header)
    if missing:
        raise InvalidInput(
            f"{path.name} needs the columns matter, name, member (missing {', '.join(sorted(missing))})"
        )
    at = {column: header.index(column) for column in ("matter", "name", "member")}
    grouped: dict[str, tuple[str, list[str]]] = {}
    problems: list[str] = []
    while True:
        first_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {first_line}: broken quoting ({exc})")
            break
        if reader.line_num != first_line:
            problems.append(
                f"line {first_line}: a quoted field runs on to line {reader.line_num} (a "
                "missing closing quote?)"
            )
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                f"line {first_line}: {len(row)} fields where the header has {len(header)} "
                "(quote a name that holds a comma)"
            )
            continue
        matter, name, member = (row[at[c]].strip() for c in ("matter", "name", "member"))
        if not matter or not name:
            problems.append(f"line {first_line}: {'no matter id' if not matter else 'no name'}")
            continue
        try:
            _emails(member.split(";"))
        except InvalidInput as exc:
            problems.append(f"line {first_line}: {exc.message}")
            continue
        known_name, members = grouped.setdefault(matter, (name, []))
        if known_name != name:
            problems.append(f"line {first_line}: {matter} is named {known_name!r} above")
        members.extend(member.split(";"))
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise InvalidInput(f"{path.name}: nothing imported: {shown}")
    return [_matter(m, name, members) for m, (name, members) in grouped.items()]


class Matters:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def put(self, matter_id: str, name: str, members: Iterable[str]) -> MatterInfo:
        """Create or replace a matter and its member list."""
        matter = _matter(matter_id, name, members)
        async with self._sessions.begin() as session:
            await _replace(session, matter)
        return matter

    async def import_csv(self, path: Path) -> list[MatterInfo]:
        """Rows of matter,name,member: one member a row, or several separated by ';'. All or
        nothing: every problem is named with its line and then nothing is imported."""
        matters = read_matters_csv(path)
        async with self._sessions.begin() as session:
            for matter in matters:
                await _replace(session, matter)
        return matters

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
