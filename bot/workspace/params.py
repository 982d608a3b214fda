"""Reading a Web API call's parameters as Slack does: query, form or JSON, flags."""

from __future__ import annotations

import json

from aiohttp import web

from bot.workspace.records import (
    JSON,
    SlackError,
)

# slack_sdk sends these form-encoded as JSON strings for some methods.
_JSON_FIELDS = ("blocks", "view", "attachments", "files", "metadata")


async def read_params(request: web.Request) -> tuple[JSON, str | None]:
    """Merge query, form and JSON body as Slack does; the token never enters the record."""
    params: JSON = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.text())
            except ValueError as e:
                raise SlackError("invalid_json") from e
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                params[key] = json.loads(value)
            except ValueError as e:
                raise SlackError(f"invalid_{key}_format") from e
    token = params.pop("token", None)
    return params, token if isinstance(token, str) else None


def flag(value: object) -> bool:
    """Booleans arrive as JSON true, or as "true"/"1" in forms (slack_sdk turns True into "1")."""
    return value is True or value in ("true", "1", 1)


def required(p: JSON, name: str) -> str:
    value = p.get(name)
    if value is None or value == "":
        raise SlackError("invalid_arguments", [f"missing required field: {name}"])
    return str(value)


def brief(params: JSON) -> str:
    keys = ("channel", "user", "user_id", "ts", "view_id", "email", "text")
    shown = [f"{k}={str(params[k])[:30]!r}" for k in keys if k in params]
    return ", ".join(shown)
