"""Choose the processor adapter named by PAYMENTS_BACKEND."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Settings
from bot.db.engine import SessionFactory
from bot.errors import ConfigError
from bot.processors.gateway import Gateway


def create_gateway(settings: Settings, sessions: SessionFactory, clock: Clock) -> Gateway:
    if settings.payments_backend == "sandbox":
        from bot.processors.sandbox import SandboxGateway

        gateway = SandboxGateway(sessions, clock)
        if settings.paybot_webhook_secret is not None:
            gateway.webhook_secret = settings.paybot_webhook_secret.get_secret_value()
        return gateway
    raise ConfigError(
        f"PAYMENTS_BACKEND={settings.payments_backend} is not available in this build yet: "
        "use sandbox"
    )
