"""What a user entered in a view, shaped as Slack's state.values and block_actions picks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.workspace.slack_api import JSON


def state_values(
    view: Mapping[str, Any], values: Mapping[str, Any] | None = None, /, **by_block_id: Any
) -> dict[str, dict[str, JSON]]:
    """`view.state.values` for a submission, from plain values keyed by input block_id.

    Every input block appears, as in Slack, with an empty state when not given. What the Slack
    client itself would stop (a required input left empty, an option the select does not offer,
    text outside min/max length) raises ValueError, so a test cannot submit the impossible; to
    send a forged payload, build the dict by hand.
    """
    given = {**(values or {}), **by_block_id}
    out: dict[str, dict[str, JSON]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        block_id, element = block.get("block_id"), block.get("element", {})
        action_id = element.get("action_id")
        if not block_id or not action_id:
            raise ValueError(
                f"input block {block_id!r} needs a block_id and action_id: without them Slack "
                "makes up random ones and the bot could not read the value"
            )
        value = given.pop(block_id, None)
        if value in (None, "", []) and not block.get("optional", False):
            raise ValueError(f"required input {block_id!r} is empty: Slack would not submit")
        out[block_id] = {action_id: element_state(element, value)}
    if given:
        raise ValueError(f"view {view.get('callback_id')!r} has no input blocks {sorted(given)}")
    return out


def element_state(element: Mapping[str, Any], value: Any) -> JSON:
    """One input element's state as Slack reports it; `value` None means left empty."""
    kind = element["type"]
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        if value is not None:
            value = str(value)
            low, high = element.get("min_length", 0), element.get("max_length", 3000)
            if kind == "plain_text_input" and not low <= len(value) <= high:
                raise ValueError(f"{value!r} is outside {low}..{high} characters")
            if kind == "number_input":
                _check_number(element, value)
        return {"type": kind, "value": value}
    if kind in ("static_select", "radio_buttons", "external_select"):
        option = None if value is None else option_for(element, str(value))
        return {"type": kind, "selected_option": option}
    if kind in ("multi_static_select", "checkboxes", "multi_external_select"):
        chosen = [] if value is None else [value] if isinstance(value, str) else list(value)
        return {"type": kind, "selected_options": [option_for(element, str(v)) for v in chosen]}
    if kind == "file_input":
        return {"type": kind, "files": _files(element, value)}
    single = {
        "users_select": "selected_user",
        "conversations_select": "selected_conversation",
        "channels_select": "selected_channel",
        "datepicker": "selected_date",
        "timepicker": "selected_time",
        "datetimepicker": "selected_date_time",
        "multi_users_select": "selected_users",
        "multi_conversations_select": "selected_conversations",
        "multi_channels_select": "selected_channels",
    }
    if kind in single:
        if kind.startswith("multi_") and isinstance(value, str):
            value = [value]
        if kind.startswith("multi_") and value is None:
            value = []
        return {"type": kind, single[kind]: value}
    raise ValueError(f"element type {kind!r} is not supported by state_values")


def _files(element: Mapping[str, Any], value: Any) -> list[JSON]:
    """File objects (as FakeSlack.user_file gives them) the Slack client lets a person pick:
    no more than max_files (10 by default), each of the filetypes when they are given."""
    files = [] if value is None else [value] if isinstance(value, dict) else list(value)
    most = int(element.get("max_files") or 10)
    if len(files) > most:
        raise ValueError(f"{len(files)} files: the file_input takes {most} at most")
    types = element.get("filetypes")
    for file in files:
        if types and str(file.get("filetype") or "").casefold() not in types:
            raise ValueError(f"{file.get('name')!r} is not among the filetypes {types}")
    return [dict(f) for f in files]


def _check_number(element: Mapping[str, Any], value: str) -> None:
    try:
        number = float(value) if element.get("is_decimal_allowed") else int(value)
    except ValueError as e:
        raise ValueError(f"{value!r} is not a number this input accepts") from e
    low, high = element.get("min_value"), element.get("max_value")
    if (low is not None and number < float(low)) or (high is not None and number > float(high)):
        raise ValueError(f"{value} is outside {low}..{high}")


def option_for(element: Mapping[str, Any], value: str) -> JSON:
    if element["type"].endswith("external_select"):
        return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options += group.get("options", [])
    for option in options:
        if option.get("value") == value:
            return dict(option)
    offered = [o.get("value") for o in options]
    raise ValueError(f"{value!r} is not among the options {offered}")


def find_element(
    blocks: list[JSON],
    action_id: str,
    block_id: str | None = None,
    value: str | None = None,
) -> tuple[str | None, JSON] | None:
    """The interactive element with this action_id and the block_id of its block. Where
    several share the action_id (a row of "Edit" buttons), the one in `block_id` or carrying
    `value` is preferred, as a click names both."""
    found: list[tuple[str | None, JSON]] = []
    for block in blocks:
        candidates = list(block.get("elements", [])) if block.get("type") == "actions" else []
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                found.append((block.get("block_id"), element))
    if block_id is not None:
        found = [f for f in found if f[0] == block_id] or found
    if value is not None:
        found = [f for f in found if f[1].get("value") == value] or found
    return found[0] if found else None
