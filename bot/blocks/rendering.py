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
rules give the same dict in 0.07-0.10 ms. tests/unit/test_block_rendering.py compares both with the
library's own on every block builder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk.models.basic_objects import EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST, JsonObject

_VALIDATORS: dict[type, tuple[str, ...]] = {}
_EMPTY_ALLOWED = {(kind["type"], kind["property"]) for kind in EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST}
_library_validate_json: Callable[[JsonObject], None] = JsonObject.validate_json
_library_to_dict = JsonObject.to_dict
_library_attributes: Callable[[JsonObject], dict[str, Any]] = JsonObject.get_non_null_attributes


def validator_names(cls: type) -> tuple[str, ...]:
    """The names of ``cls``'s ``@JsonValidator`` methods, as ``validate_json`` would find them
    (properties are not read: a validator is a method)."""
    names = _VALIDATORS.get(cls)
    if names is None:
        names = tuple(
            name
            for name in dir(cls)
            if not name.startswith("__")
            and callable(member := getattr(cls, name, None))
            and hasattr(member, "validator")
        )
        _VALIDATORS[cls] = names
    return names


def validate_json(self: JsonObject) -> None:
    """The class's validators called as functions of the object (a validator is a method:
    no bound method is made for each call)."""
    cls = type(self)
    checks = _CHECKS.get(cls)
    if checks is None:
        checks = _CHECKS[cls] = tuple(getattr(cls, name) for name in validator_names(cls))
    for check in checks:
        check(self)


_CHECKS: dict[type, tuple[Callable[[JsonObject], None], ...]] = {}


def get_non_null_attributes(self: JsonObject) -> dict[str, Any]:
    """The library's rules: attributes in sorted order, None and empty values left out (but
    for the few properties Block Kit allows empty), children through their own ``to_dict``.
    A string, number or flag (most values of a card) is kept as it is without asking it for a
    ``to_dict``: three attribute lookups fewer per value."""
    cls = type(self)
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _plan(type(self), self)
    names, read = plan
    attributes = {}
    for name in names:
        value = getattr(self, name, None) if read is None else read(self, name)
        if value is None:
            continue
        if type(value) in _SCALARS:
            if value or not isinstance(value, str) or _empty_allowed(self, name):
                attributes[name] = value
            continue
        if not value and hasattr(value, "__len__") and not _empty_allowed(self, name):
            continue
        attributes[name] = _plain(value)
    return attributes


_SCALARS = frozenset({str, int, float, bool})
_PLANS: dict[type, tuple[tuple[str, ...], Callable[[JsonObject, str], Any] | None]] = {}
_library_get_object_attribute = JsonObject.get_object_attribute


def _plan(
    cls: type[JsonObject], sample: JsonObject
) -> tuple[tuple[str, ...], Callable[[JsonObject, str], Any] | None]:
    """The sorted attribute names of ``cls`` (``attributes`` is a property of the class in every
    slack_sdk model: none reads the instance), and how a value is read: None for ``getattr``
    (the library's way), else the class's own ``get_object_attribute``."""
    names = tuple(sorted(sample.attributes))
    if getattr(cls, "get_object_attribute", None) is _library_get_object_attribute:
        return names, None
    return names, cls.get_object_attribute


def _empty_allowed(obj: JsonObject, name: str) -> bool:
    return (getattr(obj, "type", None), name) in _EMPTY_ALLOWED


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if getattr(kind, "to_dict", None) is _library_to_dict:  # its values are plain already
        return value.to_dict()
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None and callable(
        to_dict
    ):  # a class's own to_dict: walked, as the library does
        return {key: _plain(item) for key, item in to_dict().items()}
    return value


def install() -> None:
    """Done once, at import of ``bot.blocks``: every block the bot sends is turned into JSON
    this way."""
    JsonObject.validate_json = validate_json  # type: ignore[method-assign]
    JsonObject.get_non_null_attributes = get_non_null_attributes  # type: ignore[method-assign]


def uninstall() -> None:
    """slack_sdk's own methods back (for comparing the two in tests)."""
    JsonObject.validate_json = _library_validate_json  # type: ignore[method-assign, assignment]
    JsonObject.get_non_null_attributes = _library_attributes  # type: ignore[method-assign, assignment]
