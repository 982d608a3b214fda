"""Payrix alerts (webhooks): who may send one, what it names, and the /alerts setup a firm needs.

Payrix signs no alert, but an ``alertAction`` carries a ``headerName`` / ``headerValue`` sent
with every alert (eventsprout/payrix doc/models/alert-actions-post-request.md: "the request
header ... for authentication to the endpoint"), and Payrix publishes the addresses alerts come
from (resource.payrix.com/v1/docs/set-up-webhooks, "Webhook Outbound IP Address": production
3.219.99.73 and 3.209.223.102, sandbox 34.224.195.65). An alert is believed only with both, and
even then only as a hint: the records it names are read again from the API, and only what the
API says is stored.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import PaybotError
from bot.processors.payrix.client import PayrixClient, eq

PRODUCTION_SENDERS = ("3.219.99.73", "3.209.223.102")
SANDBOX_SENDERS = ("34.224.195.65",)
DEFAULT_HEADER = "X-Paybot-Alert-Secret"
MAX_RECORDS = 20  # records one alert may name; Payrix sends one

# Which resource an id names, by its middle part (``t1_chb_…``). ``dbm`` for disbursements is
# the one prefix no recorded response shows: a firm checks it on its test account (README).
PREFIXES = {
    "txn": "txns",
    "chb": "chargebacks",
    "chs": "chargebackStatuses",
    "dbm": "disbursements",
}
_ID = re.compile(r"[a-z]\d_([a-z]{3})_[0-9a-z]{1,40}", re.IGNORECASE)

# What the bot announces, as Payrix's alertTrigger events (doc/models/alert-trigger-event-enum.md;
# resource numbers from doc/models/resource-enum: 18 txns, 26 disbursements, 34 chargebacks).
TRIGGERS: tuple[tuple[str, int], ...] = (
    ("chargeback.created", 34),
    ("chargeback.opened", 34),
    ("chargeback.closed", 34),
    ("chargeback.won", 34),
    ("chargeback.lost", 34),
    ("txn.returned", 18),
    ("txn.settled", 18),
    ("txn.echeck.funded", 18),
    ("disbursement.processed", 26),
    ("disbursement.failed", 26),
    ("disbursement.returned", 26),
)


class WebhookRefused(PaybotError):
    """An alert that is not believed: answered 400, nothing stored."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(text: str) -> tuple[Network, ...]:
    """``3.219.99.73,10.0.0.0/8``: addresses or CIDR ranges, comma-separated."""
    found = []
    for part in text.split(","):
        if part.strip():
            found.append(ipaddress.ip_network(part.strip(), strict=False))
    return tuple(found)


def default_senders(api_base: str) -> str:
    """Payrix's published alert addresses for the environment the API key belongs to."""
    return ",".join(SANDBOX_SENDERS if "test-api" in api_base else PRODUCTION_SENDERS)


def inside(address: str | None, allowed: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip in network for network in allowed)


@dataclass(frozen=True)
class AlertGate:
    """The secret header and the addresses an alert must come with."""

    header: str
    secret: str | None
    senders: tuple[Network, ...]

    def check(self, headers: Mapping[str, str], sender: str | None) -> None:
        if not self.secret:
            raise WebhookRefused(
                "Payrix alerts are refused: PAYRIX_ALERT_SECRET is not set (see `paybot payrix "
                "alerts`). Paybot polls Payrix for changes meanwhile."
            )
        given = next((v for k, v in headers.items() if k.casefold() == self.header.casefold()), "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise WebhookRefused(f"The Payrix alert did not carry the {self.header} secret.")
        if not inside(sender, self.senders):
            raise WebhookRefused(
                f"The Payrix alert came from {sender or 'an unknown address'}, which is not in "
                "PAYRIX_ALERT_IPS."
            )


def named_records(body: bytes) -> list[tuple[str, str]]:
    """(resource, id) of each record an alert names; the rest of its body is not trusted."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WebhookRefused("The Payrix alert is not JSON.") from None
    response = payload.get("response") if isinstance(payload, dict) else None
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, list) or not data:
        raise WebhookRefused("The Payrix alert names no record (response.data is empty).")
    if len(data) > MAX_RECORDS:
        raise WebhookRefused(f"The Payrix alert names more than {MAX_RECORDS} records.")
    found = []
    for record in data:
        record_id = record.get("id") if isinstance(record, dict) else None
        match = _ID.fullmatch(record_id) if isinstance(record_id, str) else None
        resource = PREFIXES.get(match.group(1).casefold()) if match else None
        if resource is None or not isinstance(record_id, str):
            raise WebhookRefused(
                f"The Payrix alert names {record_id!r}, not a record Paybot reads."
            )
        found.append((resource, record_id))
    return found


def configuration(
    url: str, header: str, secret: str, login: str, *, name: str = "Paybot"
) -> dict[str, Any]:
    """The /alerts, /alertActions and /alertTriggers records that point Payrix at the bot."""
    return {
        "alert": {
            "login": login,
            "name": name,
            "description": "Chargebacks, returns and payouts for Paybot (it re-reads each one)",
        },
        "alertAction": {
            "type": "web",
            "options": "JSON",
            "value": url,
            "headerName": header,
            "headerValue": secret,
            "retries": 3,
        },
        "alertTriggers": [
            {"event": event, "resource": resource, "name": event} for event, resource in TRIGGERS
        ],
    }


async def apply(client: PayrixClient, setup: Mapping[str, Any]) -> dict[str, Any]:
    """Create the alert, its action and its triggers once: an alert of the same name and login
    already at Payrix is left as it is and returned (request-tokens guard a retried run)."""
    alert = dict(setup["alert"])
    existing = await client.fetch(
        "alerts", [eq("login", alert["login"]), eq("name", alert["name"])], limit=1
    )
    if existing.records:
        return {"created": False, "alert": existing.records[0]}
    token = f"paybot-alert-{alert['login']}-{alert['name']}"
    made = await client.create("alerts", alert, request_token=token)
    action = await client.create(
        "alertActions", {**setup["alertAction"], "alert": made["id"]}, request_token=f"{token}-a"
    )
    triggers = [
        await client.create(
            "alertTriggers", {**trigger, "alert": made["id"]}, request_token=f"{token}-{n}"
        )
        for n, trigger in enumerate(setup["alertTriggers"])
    ]
    return {"created": True, "alert": made, "alertAction": action, "alertTriggers": triggers}
