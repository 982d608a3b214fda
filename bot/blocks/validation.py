"""Block Kit's limits checked as slack_sdk checks them, without walking ``dir()`` each time.

slack_sdk validates a block when it is turned into JSON (``JsonObject.to_dict``): its
``validate_json`` lists every attribute of the object with ``dir(self)`` and reads each one to
find the methods marked ``@JsonValidator``, for every block and every text object in it, on every
answer. That search was a third of the CPU of a `/pay lookup` (bench/answers.py). The validators
are methods of the class, so the names are found once per class here and the same validators
run, raising the same ``SlackObjectFormationError``.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.models.basic_objects import JsonObject

_VALIDATORS: dict[type, tuple[str, ...]] = {}
_library_validate_json: Callable[[JsonObject], None] = JsonObject.validate_json


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
    for name in validator_names(type(self)):
        getattr(self, name)()


def install() -> None:
    """Done once, at import of ``bot.blocks``: every block the bot sends is validated this way."""
    JsonObject.validate_json = validate_json  # type: ignore[method-assign]


def uninstall() -> None:
    """slack_sdk's own ``validate_json`` back (for comparing the two in tests)."""
    JsonObject.validate_json = _library_validate_json  # type: ignore[method-assign, assignment]
