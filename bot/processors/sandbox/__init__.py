"""The embedded sandbox processor: a simulated card and ACH processor in the bot's own database."""

from bot.processors.sandbox.gateway import SandboxGateway
from bot.processors.sandbox.simulator import SandboxSimulator, SettleResult

__all__ = ["SandboxGateway", "SandboxSimulator", "SettleResult"]
