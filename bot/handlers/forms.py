"""Reading a modal's submitted state: one place that knows Slack's `state.values` shapes."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.errors import InvalidInput
from bot.overview import STALE


def value(view: dict[str, Any], block_id: str, action_id: str = "value") -> str | None:
    element = ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get(action_id) or {}
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons"):
        option = element.get("selected_option") or {}
        return option.get("value")
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "datepicker":
        return element.get("selected_date")
    text = element.get("value")
    return text if isinstance(text, str) else None


def values(view: dict[str, Any], block_id: str, action_id: str = "value") -> list[str]:
    """The options chosen in checkboxes or a multi-select (none: an empty list)."""
    element = ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get(action_id) or {}
    chosen = element.get("selected_options") or []
    return [str(option["value"]) for option in chosen if option.get("value")]


def text(view: dict[str, Any], block_id: str) -> str:
    return value(view, block_id) or ""


def action_value(action: dict[str, Any]) -> str:
    """A button's value as text; a button without one (or a forged one) reads as nothing."""
    raw = action.get("value")
    return raw if isinstance(raw, str) else ""


Model = TypeVar("Model", bound=BaseModel)


def button_value(model: type[Model], value: str | None) -> Model:
    """A button's (or a modal's private metadata's) JSON value, checked: a stale or forged value
    is a clear refusal, not a crash."""
    try:
        return model.model_validate_json(value or "{}")
    except ValidationError:
        raise InvalidInput(STALE) from None
