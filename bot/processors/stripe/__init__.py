"""Stripe behind the gateway: the official SDK's async client, Stripe's webhooks and event feed."""

from bot.processors.stripe.connection import StripeConfig
from bot.processors.stripe.gateway import StripeGateway
from bot.processors.stripe.mapping import MetadataKeys

__all__ = ["MetadataKeys", "StripeConfig", "StripeGateway"]
