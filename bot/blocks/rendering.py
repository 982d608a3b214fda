"""A block turned into JSON as slack_sdk does it (``JsonObject.to_dict``: validate, then the
non-empty attributes), without the reflection it repeats on every call.

Validation. slack_sdk validates a block when it is turned into JSON (``JsonObject.to_dict``): its
``validate_json`` lists every attribute of the object with ``dir(self)`` and reads each one to
find the methods marked ``@JsonValidator``, for every block and every text object in it, on every
answer. That search was a third of the CPU of a `/pay lookup` (bench/answers.py). The validators
are methods of the class, so the names are found once per class here and the same validators
run, raising the same ``SlackObjectFormationError``.

Serialization. ``get_non_null_attributes`` sorts the class's attribute names, looks each value
up, checks it against the list of properties allowed to be empty, and then walks the dict a
child's ``to_dict`` returned once more: two thirds of turning a lookup card into JSON, 0.21 of
0.30 ms (bench/answers.py). Here the sorted names are kept per class (``attributes`` is a
property of the class in every slack_sdk model: none reads the instance), a child turned into
JSON by the library's own ``to_dict`` (so by the rules here) is not walked again, and the same
rules give the same dict in 0.07-0.10 ms.

One call. What the library does in three methods per object (``to_dict``, ``validate_json``,
``get_non_null_attributes``), each looking its class's facts up again, is one ``to_dict`` here
that reads the class's plan once (its validators, its sorted names, how a value is read): a
lookup card is some nineteen objects, and the calls were a fifth of its JSON's cost.
tests/unit/test_block_rendering.py compares the output with the library's own on every block
builder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.basic_objects import EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST, JsonObject

_EMPTY_ALLOWED = {(kind["type"], kind["property"]) for kind in EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST}
_SCALARS = frozenset({str, int, float, bool})
_library_validate_json: Callable[[JsonObject], None] = JsonObject.validate_json
_library_to_dict = JsonObject.to_dict
_library_attributes: Callable[[JsonObject], dict[str, Any]] = JsonObject.get_non_null_attributes
_library_get_object_attribute = JsonObject.get_object_attribute


def validator_names(cls: type) -> tuple[str, ...]:
    """The names of ``cls``'s ``@JsonValidator`` methods, as ``validate_json`` would find them
    (properties are not read: a validator is a method)."""
    return tuple(
        name
        for name in dir(cls)
        if not name.startswith("__")
        and callable(member := getattr(cls, name, None))
        and hasattr(member, "validator")
    )


@dataclass(frozen=True)
class _Plan:
    """What turning an object of one class into JSON needs, found once per class."""

    checks: tuple[Callable[[JsonObject], None], ...]  # the validators, called as functions
    names: tuple[str, ...]  # the attributes, sorted (``attributes`` is the class's in slack_sdk)
    read: Callable[[JsonObject, str], Any] | None  # None: ``getattr``, the library's way


_PLANS: dict[type, _Plan] = {}


def _plan(obj: JsonObject) -> _Plan:
    cls = type(obj)
    found = _PLANS.get(cls)
    if found is None:
        own_read = getattr(cls, "get_object_attribute", None) is not _library_get_object_attribute
        found = _PLANS[cls] = _Plan(
            checks=tuple(getattr(cls, name) for name in validator_names(cls)),
            names=tuple(sorted(obj.attributes)),
            read=cls.get_object_attribute if own_read else None,
        )
    return found


def validate_json(self: JsonObject) -> None:
    for check in _plan(self).checks:
        check(self)


def to_dict(self: JsonObject, *_: Any) -> dict[str, Any]:
    """``JsonObject.to_dict``: validated, then the non-empty attributes."""
    plan = _plan(self)
    for check in plan.checks:
        check(self)
    return _attributes(self, plan)


def get_non_null_attributes(self: JsonObject) -> dict[str, Any]:
    return _attributes(self, _plan(self))


def _attributes(obj: JsonObject, plan: _Plan) -> dict[str, Any]:
    """The library's rules: attributes in sorted order, None and empty values left out (but
    for the few properties Block Kit allows empty), children through their own ``to_dict``.
    A string, number or flag (most values of a card) is kept as it is without asking it for a
    ``to_dict``: three attribute lookups fewer per value."""
    read = plan.read
    attributes = {}
    for name in plan.names:
        value = getattr(obj, name, None) if read is None else read(obj, name)
        if value is None:
            continue
        if type(value) in _SCALARS:
            if value or not isinstance(value, str) or _empty_allowed(obj, name):
                attributes[name] = value
            continue
        if not value and hasattr(value, "__len__") and not _empty_allowed(obj, name):
            continue
        attributes[name] = _plain(value)
    return attributes


def _empty_allowed(obj: JsonObject, name: str) -> bool:
    return (getattr(obj, "type", None), name) in _EMPTY_ALLOWED


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if getattr(kind, "to_dict", None) is to_dict:  # by the rules here: its values are plain
        return to_dict(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    own = getattr(value, "to_dict", None)
    if own is not None and callable(own):  # a class's own to_dict: walked, as the library does
        return {key: _plain(item) for key, item in own().items()}
    return value


def install() -> None:
    """Done once, at import of ``bot.blocks``: every block the bot sends is turned into JSON
    this way."""
    JsonObject.to_dict = to_dict  # type: ignore[method-assign]
    JsonObject.validate_json = validate_json  # type: ignore[method-assign]
    JsonObject.get_non_null_attributes = get_non_null_attributes  # type: ignore[method-assign]


def uninstall() -> None:
    """slack_sdk's own methods back (for comparing the two in tests)."""
    JsonObject.to_dict = _library_to_dict  # type: ignore[method-assign]
    JsonObject.validate_json = _library_validate_json  # type: ignore[method-assign, assignment]
    JsonObject.get_non_null_attributes = _library_attributes  # type: ignore[method-assign, assignment]
