"""Reading a row into the domain's plain data: the columns named as the data's fields."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

Data = TypeVar("Data")


def as_data(cls: type[Data], row: Any, **given: Any) -> Data:
    """``cls`` from the row's columns of the same names; ``given`` are the fields that are not a
    column as such (money from two columns, a state as its enum)."""
    taken = {f.name: getattr(row, f.name) for f in fields(cls) if f.name not in given}  # type: ignore[arg-type]
    return cls(**taken, **given)
