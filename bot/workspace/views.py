"""The views.* methods, trigger_ids, modal stacks and the Home tab."""

from __future__ import annotations

import secrets
import time

from bot.workspace.block_kit import view_problems
from bot.workspace.params import required
from bot.workspace.records import (
    JSON,
    SlackError,
)
from bot.workspace.state import Workspace

TRIGGER_SECONDS = 3.0  # a trigger_id opens a view within 3 s of its request, once


class ViewsApi(Workspace):
    """views.open, push, update, publish; what Slack does after a view_submission."""

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """A trigger_id in Slack's shape; remembering its user lets views.open build a stack."""
        trigger_id = (
            f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        )
        self._triggers[trigger_id] = self._monotonic()
        if user_id is not None:
            self._trigger_users[trigger_id] = user_id
        return trigger_id

    def home_view(self, user_id: str) -> JSON | None:
        view_id = self._home.get(user_id)
        return self.views[view_id] if view_id else None

    def modal_stack(self, user_id: str) -> list[JSON]:
        """The modals open for a user, bottom first; known only for trigger_ids the fake
        minted with `new_trigger_id(user_id)`, as a real view carries no user."""
        return [self.views[v] for v in self._stacks.get(user_id, [])]

    def top_modal(self, user_id: str) -> JSON | None:
        stack = self._stacks.get(user_id)
        return self.views[stack[-1]] if stack else None

    def _views_open(self, p: JSON) -> JSON:
        user = self._use_trigger(p)
        view = self._checked_view(p.get("view"), home=False, new=True)
        stored = self._store_view(view, view_id=None, previous=None)
        if user is not None:
            self._stacks[user] = [stored["id"]]
        return {"view": stored}

    def _views_push(self, p: JSON) -> JSON:
        user = self._use_trigger(p)
        view = self._checked_view(p.get("view"), home=False, new=True)
        stack = self._stacks.get(user, []) if user is not None else []
        if len(stack) >= 3:
            raise SlackError("push_limit_reached")
        previous = self.views[stack[-1]] if stack else None
        stored = self._store_view(view, view_id=None, previous=previous)
        if user is not None:
            self._stacks[user] = [*stack, stored["id"]]
        return {"view": stored}

    def _views_update(self, p: JSON) -> JSON:
        view_id = p.get("view_id")
        if not view_id and p.get("external_id"):
            view_id = next(
                (k for k, v in self.views.items() if v.get("external_id") == p["external_id"]),
                None,
            )
            if view_id is None:
                raise SlackError("not_found")
        if not view_id:
            raise SlackError("invalid_arguments", ["view_id or external_id is required"])
        current = self.views.get(view_id)
        if current is None:
            raise SlackError("not_found")
        if p.get("hash") and p["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._checked_view(p.get("view"), home=current["type"] == "home")
        return {"view": self._store_view(view, view_id=view_id, previous=None)}

    def _views_publish(self, p: JSON) -> JSON:
        user_id = required(p, "user_id")
        if user_id not in self.users:
            raise SlackError("user_not_found")
        view = self._checked_view(p.get("view"), home=True)
        view_id = self._home.get(user_id)
        if view_id and p.get("hash") and p["hash"] != self.views[view_id]["hash"]:
            raise SlackError("hash_conflict")
        stored = self._store_view(view, view_id=view_id, previous=None)
        self._home[user_id] = stored["id"]
        return {"view": stored}

    def _use_trigger(self, p: JSON) -> str | None:
        """A trigger_id opens one view, within 3 s of the request that carried it; one the
        fake never sent is invalid_trigger_id (views.open, views.push)."""
        trigger_id = required(p, "trigger_id")
        issued = self._triggers.get(trigger_id)
        if issued is None:
            raise SlackError(
                "exchanged_trigger_id"
                if trigger_id in self._used_triggers
                else "invalid_trigger_id"
            )
        if trigger_id in self.expired_triggers or self._monotonic() - issued > TRIGGER_SECONDS:
            raise SlackError("expired_trigger_id")
        del self._triggers[trigger_id]
        self._used_triggers.add(trigger_id)
        return self._trigger_users.get(trigger_id)

    def _checked_view(self, view: object, *, home: bool, new: bool = False) -> JSON:
        problems = view_problems(view, home=home)
        if problems or not isinstance(view, dict):
            raise SlackError("invalid_arguments", problems)
        external_id = view.get("external_id")
        if (
            new
            and external_id
            and any(v["external_id"] == external_id for v in self.views.values())
        ):
            raise SlackError("duplicate_external_id")
        return view

    def _store_view(self, view: JSON, *, view_id: str | None, previous: JSON | None) -> JSON:
        """Keep a view as Slack returns it: the given fields plus id, hash and bookkeeping.
        An update keeps the id, external_id and place in the stack, and changes the hash."""
        current = self.views.get(view_id) if view_id else None
        new_id = view_id or "V" + secrets.token_hex(5).upper()
        stored: JSON = {
            "private_metadata": "",
            "callback_id": "",
            "external_id": current["external_id"] if current else "",
            "clear_on_close": False,
            "notify_on_close": False,
            **view,
            "id": new_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": current["root_view_id"] if current else new_id,
            "previous_view_id": current["previous_view_id"] if current else None,
        }
        if previous is not None:
            stored["root_view_id"] = previous["root_view_id"]
            stored["previous_view_id"] = previous["id"]
        self.views[new_id] = stored
        return stored

    def close_view(self, user_id: str, view_id: str) -> None:
        """The user closed a modal (or Slack closed it after a submission): it and any view
        pushed above it leave the stack."""
        stack = self._stacks.get(user_id, [])
        if view_id in stack:
            self._stacks[user_id] = stack[: stack.index(view_id)]
        self.changed()

    def after_submission(self, user_id: str, view_id: str, response: JSON | None) -> None:
        """Apply the bot's answer to a view_submission as Slack would: close, keep open with
        errors, update, push, or clear. Raises SlackError where Slack would show the user an
        error instead (an invalid view, errors keyed by something other than an input block)."""
        self.changed()
        action = (response or {}).get("response_action")
        if action is None:
            self.close_view(user_id, view_id)
        elif action == "errors":
            errors = (response or {}).get("errors")
            inputs = {
                b.get("block_id")
                for b in self.views[view_id].get("blocks", [])
                if b.get("type") == "input"
            }
            if not isinstance(errors, dict) or not errors or not set(errors) <= inputs:
                raise SlackError(
                    "invalid_arguments",
                    [f"errors must be keyed by input block_ids {sorted(inputs)}, got {errors}"],
                )
        elif action == "update":
            view = self._checked_view((response or {}).get("view"), home=False)
            self._store_view(view, view_id=view_id, previous=None)
        elif action == "push":
            view = self._checked_view((response or {}).get("view"), home=False, new=True)
            stack = self._stacks.get(user_id, [])
            if len(stack) >= 3:
                raise SlackError("push_limit_reached")
            stored = self._store_view(view, view_id=None, previous=self.views[view_id])
            self._stacks[user_id] = [*stack, stored["id"]]
        elif action == "clear":
            self._stacks.pop(user_id, None)
        else:
            raise SlackError("invalid_arguments", [f"unknown response_action {action!r}"])
