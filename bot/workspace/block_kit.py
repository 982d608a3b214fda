"""Slack's checks on what a message or view holds: text, blocks, metadata, views."""

from __future__ import annotations

import re
from typing import Any

from bot.workspace.records import (
    JSON,
    SlackError,
)

_METADATA_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_]+$")


def message_content(p: JSON) -> tuple[str, list[JSON] | None, list[JSON] | None]:
    """text, blocks and attachments of a message, refused where Slack refuses them."""
    text = p.get("text")
    text = "" if text is None else str(text)
    blocks = p.get("blocks")
    attachments = p.get("attachments")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    if attachments is not None and not isinstance(attachments, list):
        raise SlackError("invalid_attachments")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    if len(text) > 40000:
        raise SlackError("msg_too_long")
    problems = block_problems(blocks or [], max_blocks=50)
    if problems:
        raise SlackError("invalid_blocks", problems)
    return text, blocks, attachments


def checked_metadata(metadata: object) -> JSON | None:
    """Message metadata as Slack takes it, else its error. The rule followed is the shape Slack
    documents (docs.slack.dev/messaging/message-metadata, and @slack/types' MessageMetadata):
    `event_type` a human-readable alphanumeric name (letters, digits, `_`), and `event_payload`
    an object whose values are strings, numbers, booleans, objects of those, or arrays of such
    objects; not null, and not an array of plain strings."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or set(metadata) - {"event_type", "event_payload"}:
        raise SlackError(
            "invalid_metadata_format", ["metadata must be {event_type, event_payload}"]
        )
    event_type, payload = metadata.get("event_type"), metadata.get("event_payload")
    if not isinstance(event_type, str) or not _METADATA_EVENT_TYPE.match(event_type):
        raise SlackError(
            "invalid_metadata_format", [f"event_type {event_type!r} is not alphanumeric"]
        )
    if not isinstance(payload, dict):
        raise SlackError("invalid_metadata_format", ["event_payload must be an object"])
    problems = [
        f"event_payload.{key} is {type(value).__name__}, not a string, number, boolean, "
        "object or array of objects"
        for key, value in payload.items()
        if not _metadata_value(value)
    ]
    if problems:
        raise SlackError("invalid_metadata_schema", problems)
    return metadata


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _metadata_value(value: object) -> bool:
    def flat(obj: object) -> bool:
        return isinstance(obj, dict) and all(_scalar(v) for v in obj.values())

    if isinstance(value, list):
        return all(flat(item) for item in value)
    return _scalar(value) or flat(value)


def _text_problems(
    obj: object, where: str, limit: int, *, plain_only: bool = False, required: bool = True
) -> list[str]:
    if obj is None:
        return [f"{where} is required"] if required else []
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"{where} must be a text object of type {' or '.join(allowed)}"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}.text must be a non-empty string"]
    if len(text) > limit:
        return [f"{where}.text is {len(text)} characters, more than {limit}"]
    return []


def _option_problems(options: object, where: str, most: int) -> list[str]:
    if not isinstance(options, list) or not options or len(options) > most:
        return [f"{where} must hold 1 to {most} options"]
    problems: list[str] = []
    for i, option in enumerate(options):
        problems += _text_problems(
            option.get("text") if isinstance(option, dict) else None, f"{where}[{i}].text", 75
        )
        value = option.get("value") if isinstance(option, dict) else None
        if isinstance(value, str) and len(value) > 150:
            problems.append(f"{where}[{i}].value is longer than 150 characters")
    return problems


def _element_problems(element: object, where: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"{where} must be an element with a type"]
    problems: list[str] = []
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
        problems.append(f"{where}.action_id must be a string of at most 255 characters")
    kind = element["type"]
    if kind == "button":
        problems += _text_problems(element.get("text"), f"{where}.text", 75, plain_only=True)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            problems.append(f"{where}.value must be a string of at most 2000 characters")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}.style must be primary or danger")
    elif kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes"):
        if "option_groups" not in element:
            most = 10 if kind in ("radio_buttons", "checkboxes") else 100
            problems += _option_problems(element.get("options"), f"{where}.options", most)
    elif kind == "file_input":
        most = element.get("max_files", 10)
        if not isinstance(most, int) or not 1 <= most <= 10:
            problems.append(f"{where}.max_files must be 1 to 10")
        types = element.get("filetypes")
        if types is not None and (
            not isinstance(types, list) or not all(isinstance(t, str) and t for t in types)
        ):
            problems.append(f"{where}.filetypes must be a list of file extensions")
    elif kind == "overflow":
        options = element.get("options")
        if not isinstance(options, list) or len(options) < 2:
            problems.append(f"{where}.options must hold 2 to 5 options")
        else:
            problems += _option_problems(options, f"{where}.options", 5)
    return problems


def block_problems(blocks: list[Any], *, max_blocks: int) -> list[str]:
    """What Slack's invalid_blocks would complain about, for the limits that bite in practice
    (lengths, counts, duplicate ids); not a full Block Kit validator."""
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks, more than {max_blocks}")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"{where} must be a block with a type")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id or len(block_id) > 255:
                problems.append(f"{where}.block_id must be 1 to 255 characters")
            elif block_id in block_ids:
                problems.append(f"{where}.block_id {block_id!r} is used twice")
            else:
                block_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if block.get("text") is None and not block.get("fields"):
                problems.append(f"{where} needs text or fields")
            problems += _text_problems(block.get("text"), f"{where}.text", 3000, required=False)
            fields = block.get("fields") or []
            if len(fields) > 10:
                problems.append(f"{where}.fields holds {len(fields)}, more than 10")
            for j, item in enumerate(fields):
                problems += _text_problems(item, f"{where}.fields[{j}]", 2000)
            if "accessory" in block:
                problems += _element_problems(block["accessory"], f"{where}.accessory")
        elif kind == "header":
            problems += _text_problems(block.get("text"), f"{where}.text", 150, plain_only=True)
        elif kind in ("actions", "context"):
            most = 25 if kind == "actions" else 10
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > most:
                problems.append(f"{where}.elements must hold 1 to {most} elements")
                continue
            action_ids: set[str] = set()
            for j, element in enumerate(elements):
                if kind == "context":
                    continue
                problems += _element_problems(element, f"{where}.elements[{j}]")
                action_id = element.get("action_id") if isinstance(element, dict) else None
                if isinstance(action_id, str):
                    if action_id in action_ids:
                        problems.append(f"{where}: action_id {action_id!r} is used twice")
                    action_ids.add(action_id)
        elif kind == "input":
            problems += _text_problems(block.get("label"), f"{where}.label", 2000, plain_only=True)
            problems += _element_problems(block.get("element"), f"{where}.element")
            problems += _text_problems(
                block.get("hint"), f"{where}.hint", 2000, plain_only=True, required=False
            )
        elif kind not in ("divider", "image", "rich_text", "file", "video", "markdown"):
            problems.append(f"{where}.type {kind!r} is not a Block Kit block")
    return problems


def view_problems(view: object, *, home: bool) -> list[str]:
    """What views.open/update/push/publish would refuse as invalid_arguments."""
    if not isinstance(view, dict):
        return ["view must be a JSON object"]
    expected = "home" if home else "modal"
    if view.get("type") != expected:
        return [f"view.type must be {expected!r}, got {view.get('type')!r}"]
    problems: list[str] = []
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return ["view.blocks must be a list"]
    problems += block_problems(blocks, max_blocks=100)
    if not home:
        problems += _text_problems(view.get("title"), "view.title", 24, plain_only=True)
        for key in ("submit", "close"):
            problems += _text_problems(
                view.get(key), f"view.{key}", 24, plain_only=True, required=False
            )
        has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_inputs and "submit" not in view:
            problems.append("view.submit is required when the view has input blocks")
    for key, limit in (("callback_id", 255), ("private_metadata", 3000), ("external_id", 255)):
        value = view.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            problems.append(f"view.{key} must be a string of at most {limit} characters")
    return problems
