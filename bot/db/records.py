"""Database rows read as the domain's plain records (bot/domain.py), whose fields bear the names
of the row's columns."""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Record = TypeVar("Record", bound="DataclassInstance")


def record(cls: type[Record], row: object, **converted: Any) -> Record:
    """A ``cls`` with each field copied from the row's attribute of that name, except the ones
    ``converted`` gives (a ``Money`` from two columns, an enum from its value)."""
    copied = {name: getattr(row, name) for name in names(cls) if name not in converted}
    return cls(**copied, **converted)


@cache
def names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    """The fields a ``cls`` is made with."""
    return tuple(field.name for field in fields(cls) if field.init)
