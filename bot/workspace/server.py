"""The fake's Web API endpoint: tokens, injected faults, rate limits and method tiers."""

from __future__ import annotations

import math
import secrets
import time
from collections import deque

from aiohttp import web

from bot.workspace.params import read_params
from bot.workspace.records import (
    JSON,
    Call,
    EarlyCall,
    Fault,
    Limiter,
    RateLimited,
    SlackError,
)
from bot.workspace.state import Workspace

# Each method's rate-limit tier (https://docs.slack.dev/apis/web-api/rate-limits, and each
# method's page), and the calls a minute a tier allows: the documented minimum ("20+ per minute"),
# per method per workspace. Tier 1 tolerates "a small amount of burst behavior": three.
# chat.postMessage is Special (about one a second per channel): see `rate_limit`.
TIER_PER_MINUTE = {1: 3, 2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "apps.connections.open": 1,
    "users.list": 2,
    "files.upload": 2,
    "chat.update": 3,
    "chat.delete": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.open": 3,
    "conversations.info": 3,
    "users.lookupByEmail": 3,
    "auth.test": 4,
    "chat.postEphemeral": 4,
    "chat.getPermalink": 4,
    "users.info": 4,
    "views.open": 4,
    "views.update": 4,
    "views.push": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "files.info": 4,
}


class Server(Workspace):
    """Answers /api/{method}: authenticates, applies faults and limits, then dispatches."""

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls to `method` with an error. 429 carries Retry-After;
        status 200 gives a plain Slack error such as message_not_found."""
        self._faults.setdefault(method, []).append(Fault(error, status, retry_after, times))

    def rate_limit(
        self,
        per_channel_per_second: float | None = 1.0,
        per_workspace_per_minute: int | None = None,
        *,
        burst: int = 1,
    ) -> None:
        """Limit chat.postMessage like Slack: a token bucket per channel (`burst` posts at
        once, refilled at the given rate) and a sliding minute for the workspace. On from the
        start at one a second per channel with bursts of POST_BURST, as Slack; passing None
        for both turns it off."""
        if per_channel_per_second is None and per_workspace_per_minute is None:
            self._limiter = None
        else:
            self._limiter = Limiter(per_channel_per_second, per_workspace_per_minute, burst)

    async def _serve_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method, {}, time.time())
        self.calls.append(call)
        status, headers = 200, {}
        try:
            params, token = await read_params(request)
            call.params = params
            handler = self._handlers.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            self._authenticate(request, token, method)
            self._check_hold(method, "*")
            self._take_tier_call(method)
            fault = self._take_fault(method)
            if fault is not None:
                status = fault.status
                if status == 429:
                    self.rate_limited += 1
                    headers["Retry-After"] = str(fault.retry_after)
                    self._hold(method, "*", fault.retry_after)
                body: JSON = {"ok": False, "error": fault.error}
            else:
                body = {"ok": True, **handler(params)}
        except SlackError as e:
            body = e.body()
        except RateLimited as e:
            self.rate_limited += 1
            status, headers = 429, {"Retry-After": str(e.retry_after)}
            self._hold(method, e.scope, e.retry_after)
            body = {"ok": False, "error": "ratelimited"}
        except Exception as e:
            call.error = f"fake_slack_crashed: {e!r}"  # a bug here, not a Slack answer
            raise
        call.error = body.get("error")
        self.changed()
        headers["x-oauth-scopes"] = ",".join(self.scopes)
        return web.json_response(body, status=status, headers=headers)

    def _hold(self, method: str, scope: str, retry_after: int) -> None:
        """Remember until when a 429 asked this method (in `scope`) to wait."""
        self._holds[(method, scope)] = self._monotonic() + retry_after

    def _check_hold(self, method: str, scope: str) -> None:
        """Note a call that arrives before the Retry-After it was given ran out."""
        until = self._holds.get((method, scope))
        if until is not None and until > self._monotonic():
            self.early_calls.append(EarlyCall(method, scope, until - self._monotonic()))

    def _authenticate(self, request: web.Request, token: str | None, method: str) -> None:
        """The bot token for every method but apps.connections.open, which takes the app-level
        token alone; the wrong kind of good token is not_allowed_token_type, as in Slack."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header.removeprefix("Bearer ").strip()
        if not token:
            raise SlackError("not_authed")
        wanted, other = self.bot_token, self.app_token
        if method == "apps.connections.open":
            wanted, other = other, wanted
        if secrets.compare_digest(token, wanted):
            return
        if secrets.compare_digest(token, other):
            raise SlackError("not_allowed_token_type")
        raise SlackError("invalid_auth")

    def _take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def _take_tier_call(self, method: str) -> None:
        """A sliding minute per method: past its tier's calls a minute, 429 with Retry-After."""
        tier = METHOD_TIERS.get(method)
        if tier is None or not self.tier_limits:
            return
        now = self._monotonic()
        recent = self._tier_calls.setdefault(method, deque())
        while recent and now - recent[0] >= 60:
            recent.popleft()
        if len(recent) >= TIER_PER_MINUTE[tier]:
            raise RateLimited(max(1, math.ceil(60 - (now - recent[0]))))
        recent.append(now)

    def _take_post_token(self, channel_id: str) -> None:
        limiter = self._limiter
        if limiter is None:
            return
        now = self._monotonic()
        if limiter.per_workspace_per_minute is not None:
            while limiter.recent and now - limiter.recent[0] >= 60:
                limiter.recent.popleft()
            if len(limiter.recent) >= limiter.per_workspace_per_minute:
                raise RateLimited(max(1, math.ceil(60 - (now - limiter.recent[0]))))
        rate = limiter.per_channel_per_second
        if rate is not None:
            tokens, then = limiter.tokens.get(channel_id, (float(limiter.burst), now))
            tokens = min(float(limiter.burst), tokens + (now - then) * rate)
            if tokens < 1:
                limiter.tokens[channel_id] = (tokens, now)
                raise RateLimited(max(1, math.ceil((1 - tokens) / rate)), channel_id)
            limiter.tokens[channel_id] = (tokens - 1, now)
        if limiter.per_workspace_per_minute is not None:
            limiter.recent.append(now)

    def _apps_connections_open(self, p: JSON) -> JSON:
        return {"url": self.socket_mode.new_url(self._root())}

    def _auth_test(self, p: JSON) -> JSON:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            **({"enterprise_id": self.enterprise_id} if self.enterprise_id else {}),
            "is_enterprise_install": False,
        }
