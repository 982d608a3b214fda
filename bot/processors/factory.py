"""Choose the processor adapter named by PAYMENTS_BACKEND."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Settings
from bot.db.engine import SessionFactory
from bot.errors import ConfigError
from bot.processors.gateway import Gateway
from bot.processors.sandbox.fees import Fees


def sandbox_fees(settings: Settings) -> Fees:
    """The sandbox's fees from PAYBOT_SANDBOX_FEE_PERCENT, _FEE_FIXED and _DISPUTE_FEE."""
    return Fees(
        percent=settings.paybot_sandbox_fee_percent,
        fixed_minor=int(settings.paybot_sandbox_fee_fixed * 100),
        dispute_minor=int(settings.paybot_sandbox_dispute_fee * 100),
    )


def create_gateway(settings: Settings, sessions: SessionFactory, clock: Clock) -> Gateway:
    if settings.payments_backend == "sandbox":
        from bot.processors.sandbox import SandboxGateway

        gateway = SandboxGateway(sessions, clock)
        if settings.paybot_webhook_secret is not None:
            gateway.webhook_secret = settings.paybot_webhook_secret.get_secret_value()
        return gateway
    if settings.payments_backend == "stripe":
        from bot.processors.stripe import MetadataKeys, StripeConfig, StripeGateway

        if settings.stripe_api_key is None:
            raise ConfigError(
                "STRIPE_API_KEY is not set: PAYMENTS_BACKEND=stripe needs the account's secret key"
            )
        secret = settings.stripe_webhook_secret
        return StripeGateway(
            StripeConfig(
                api_key=settings.stripe_api_key.get_secret_value(),
                webhook_secret=secret.get_secret_value() if secret is not None else None,
                api_base=settings.stripe_api_base,
                keys=MetadataKeys(settings.stripe_matter_key, settings.stripe_account_key),
            ),
            clock,
        )
    if settings.payments_backend == "payrix":
        from bot.processors import payrix

        return payrix.create(settings, clock)
    raise ConfigError(
        f"PAYMENTS_BACKEND={settings.payments_backend} is not available in this build yet: "
        "use sandbox"
    )
