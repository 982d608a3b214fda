"""The Payrix processor (behind Actionstep Payments): its REST API as the bot's gateway."""

from __future__ import annotations

from bot.clock import Clock, utcnow
from bot.config import Settings
from bot.errors import ConfigError
from bot.processors.payrix.alerts import AlertGate, WebhookRefused, default_senders, networks
from bot.processors.payrix.client import PayrixClient
from bot.processors.payrix.fields import FieldPath, Fields
from bot.processors.payrix.gateway import PayrixGateway

__all__ = ["FieldPath", "Fields", "PayrixClient", "PayrixGateway", "WebhookRefused", "create"]


def create(settings: Settings, clock: Clock = utcnow) -> PayrixGateway:
    """The gateway from PAYRIX_* settings; what is missing or malformed stops start-up in one line."""
    missing = [
        name.upper()
        for name in ("payrix_api_key", "payrix_merchant_id")
        if not getattr(settings, name, None)
    ]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: "
            "PAYMENTS_BACKEND=payrix needs the firm's Payrix API key and merchant id"
        )
    fields = {}
    for name, setting in (("matter", "payrix_matter_field"), ("trust", "payrix_trust_field")):
        try:
            fields[name] = FieldPath.parse(getattr(settings, setting))
        except ValueError as exc:
            raise ConfigError(f"{setting.upper()} is malformed: {exc}") from None
    client = PayrixClient(settings.payrix_api_base, settings.secret("payrix_api_key"))
    secret = settings.payrix_alert_secret
    senders = settings.payrix_alert_ips or default_senders(settings.payrix_api_base)
    return PayrixGateway(
        client,
        str(settings.payrix_merchant_id),
        fields=Fields(matter=fields["matter"], trust=fields["trust"]),
        clock=clock,
        alerts=AlertGate(
            settings.payrix_alert_header,
            secret.get_secret_value() if secret is not None else None,
            networks(senders),
        ),
    )
