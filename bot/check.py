"""`paybot check`: before a firm goes live, ask the real Slack and the processor what would go
wrong, and say it in plain lines: the token's scopes against manifest.yml, the bot's membership
of its channels, portal users whose Slack user is gone, no active admin, the processor's key,
a missing webhook secret."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import BOT_SETTINGS, slack_client
from bot.config import Settings
from bot.domain import PortalAccount
from bot.errors import PaybotError
from bot.roles import Role
from bot.slack.identity import identify, slack_error
from bot.slack.members import SlackMembers
from bot.store import Store, open_store

CHANNELS = ("paybot_approvals_channel", "paybot_notify_channel")
# Where each backend's webhooks are signed; payrix has no webhooks (it is polled).
WEBHOOK_SECRETS = {
    "sandbox": "paybot_webhook_secret",
    "stripe": "stripe_webhook_secret",
    "payrix": "payrix_alert_secret",
}


@dataclass(frozen=True)
class Finding:
    problem: bool
    text: str

    def line(self) -> str:
        return f"{'PROBLEM' if self.problem else 'ok'}: {self.text}"


def ok(text: str) -> Finding:
    return Finding(False, text)


def problem(text: str) -> Finding:
    return Finding(True, text)


def manifest_scopes(path: Path | None) -> frozenset[str]:
    """The bot scopes manifest.yml asks for: the given file, ./manifest.yml, or the project's."""
    candidates = (
        [path] if path else [Path("manifest.yml"), Path(__file__).parents[1] / "manifest.yml"]
    )
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise PaybotError(f"{candidates[0]} not found: give the app manifest with --manifest")
    try:
        manifest = yaml.safe_load(found.read_text(encoding="utf-8"))
        return frozenset(manifest["oauth_config"]["scopes"]["bot"])
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PaybotError(f"{found} has no oauth_config.scopes.bot list ({first})") from None


async def run_checks(settings: Settings, *, manifest: Path | None = None) -> list[Finding]:
    wanted = manifest_scopes(manifest)
    findings = [
        problem(f"{name.upper()} is not set: serve and socket need it")
        for name in BOT_SETTINGS
        if getattr(settings, name) is None
    ]
    store = await open_store(settings)
    try:
        if settings.slack_bot_token is not None:
            async with aiohttp.ClientSession() as http:
                client = slack_client(settings, http)
                findings += [f async for f in _slack(settings, client, wanted, store)]
        findings += await _admins(store)
        findings += await _processor(settings, store)
    finally:
        await store.close()
    return findings


async def _slack(
    settings: Settings, client: AsyncWebClient, wanted: frozenset[str], store: Store
) -> AsyncIterator[Finding]:
    try:
        identity = await identify(client)
    except PaybotError as exc:
        yield problem(exc.message)
        return
    answer = identity.answer
    yield ok(f"Slack: the token is the bot @{answer.get('user')} in {answer.get('team')}")
    if identity.scopes is None:
        yield problem("Slack did not say which scopes the token has (no x-oauth-scopes header)")
    elif missing := wanted - identity.scopes:
        yield problem(
            f"the token lacks the scope(s) {', '.join(sorted(missing))} that manifest.yml asks "
            "for: add them under OAuth & Permissions, then reinstall the app"
        )
    else:
        yield ok(f"Slack: the token has every scope manifest.yml asks for ({len(wanted)})")
    for name in CHANNELS:
        channel = getattr(settings, name)
        if channel is not None:
            yield await _channel(client, name.upper(), channel)
    members = SlackMembers(client)
    async for user in _portal_users(store):
        if not user.active:
            continue
        if user.slack_user_id is None:
            yield ok(f"portal user {user.username} is not linked to a Slack user (note)")
            continue
        try:
            said = await members.problem(user.slack_user_id)
        except SlackApiError as exc:
            said = f"users.info answered {slack_error(exc) or 'with something that is not Slack'}"
        if said is not None:
            yield problem(
                f"portal user {user.username}: {said} Link the right one with paybot users "
                f"set-slack {user.username} U…, or deactivate {user.username}"
            )


async def _channel(client: AsyncWebClient, setting: str, channel: str) -> Finding:
    """conversations.history under the manifest's channels:history / groups:history: a bot
    outside the channel is answered not_in_channel (it could not post there either)."""
    try:
        await client.conversations_history(channel=channel, limit=1)
    except SlackApiError as exc:
        error = slack_error(exc)
        if error == "not_in_channel":
            return problem(f"{setting} {channel}: the bot is not a member; /invite @paybot there")
        if error == "channel_not_found":
            return problem(
                f"{setting} {channel}: no such channel, or a private one the bot was not invited to"
            )
        return problem(f"{setting} {channel}: Slack answered {error}")
    return ok(f"{setting} {channel}: the bot is a member")


async def _portal_users(store: Store) -> AsyncIterator[PortalAccount]:
    page = 0
    while True:
        result = await store.services.users.search(None, page=page, per_page=100)
        for user in result.users:
            yield user
        if not result.has_next:
            return
        page += 1


async def _admins(store: Store) -> list[Finding]:
    admins = [u.username async for u in _portal_users(store) if u.active and u.role == Role.ADMIN]
    if not admins:
        return [
            problem("no active admin: add one with paybot users add --role admin --slack-user U…")
        ]
    return [ok(f"active admin(s): {', '.join(admins)}")]


async def _processor(settings: Settings, store: Store) -> list[Finding]:
    backend = settings.payments_backend
    findings = []
    try:
        await store.services.gateway.balance()
    except (TimeoutError, PaybotError, aiohttp.ClientError, OSError) as exc:
        said = exc.message if isinstance(exc, PaybotError) else f"{type(exc).__name__}: {exc}"
        findings.append(problem(f"the {backend} processor refused or failed: {said}"))
    else:
        findings.append(ok(f"the {backend} processor answered"))
    secret = WEBHOOK_SECRETS.get(backend)
    if secret is not None and getattr(settings, secret) is None:
        findings.append(
            problem(
                f"{secret.upper()} is not set: {backend} webhooks will be refused "
                "(events then arrive only by polling)"
            )
        )
    return findings
