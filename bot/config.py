"""Settings from the environment and `.env`: the only place the environment is read."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.clock import DEFAULT_ZONE, zone_named
from bot.errors import ConfigError
from bot.policy import Policy, SecondApproval

Backend = Literal["sandbox", "stripe", "payrix"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["auto", "json", "plain"]
ENV_FILE = ".env"
# Variables with these prefixes are ours (or Slack's SDKs'): one we do not know is a typo.
PREFIXES = ("PAYBOT_", "SLACK_", "STRIPE_", "PAYRIX_")
# Read by the tests and `make screenshots`, not by the bot, and no typo.
TEST_KNOBS = frozenset({"PAYBOT_SCREENSHOTS", "PAYBOT_CRASH_RUNS"})
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")
DIGEST_AT = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?")


class Settings(BaseSettings):
    """Every setting the bot reads. Secrets are SecretStr so a repr or a log never shows them."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILE, extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite+aiosqlite:///./paybot.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    payments_backend: Backend = "sandbox"
    # PAYMENTS_BACKEND=stripe: the account's secret (or restricted) key, the webhook endpoint's
    # signing secret, the API's address (tests point it at localstripe) and the metadata keys
    # that carry a payment's matter and trust/operating account.
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    stripe_matter_key: str = Field(default="matter_id", min_length=1, max_length=40)
    stripe_account_key: str = Field(default="account", min_length=1, max_length=40)
    # PAYMENTS_BACKEND=payrix: the API key and merchant id, the API's address (tests point it at
    # a local stand-in), and where a transaction keeps its matter and trust flag: `order`,
    # `description`, `description.<key>` (a key of the JSON object Actionstep writes there) or
    # `none` (checked by bot.processors.payrix.create).
    payrix_api_key: SecretStr | None = None
    payrix_merchant_id: str | None = None
    payrix_api_base: str = "https://api.payrix.com"
    payrix_matter_field: str = "description.id"
    payrix_trust_field: str = "description.isTrust"
    # Payrix alerts (POST /webhooks/payrix): the secret Payrix sends in PAYRIX_ALERT_HEADER (set
    # as the alertAction's headerValue; unset: every alert is refused and polling alone runs),
    # and the addresses alerts may come from (default: Payrix's published ones for the API's
    # environment). PAYBOT_TRUSTED_PROXIES: proxies whose X-Forwarded-For is believed.
    payrix_alert_secret: SecretStr | None = None
    payrix_alert_header: str = Field(default="X-Paybot-Alert-Secret", min_length=1, max_length=64)
    payrix_alert_ips: str | None = None
    paybot_trusted_proxies: str = ""
    paybot_notify_channel: str | None = None
    paybot_approvals_channel: str | None = None
    paybot_worker_interval: float = Field(default=1.0, gt=0, le=60)
    # How often the worker sweeps for what time alone makes due (bot/workers/runner.py).
    paybot_sweep_interval: float = Field(default=15.0, gt=0, le=3600)
    paybot_notify_pace: float = Field(default=1.0, ge=0, le=10)
    paybot_webhook_secret: SecretStr | None = None
    # How long a claimed job or notification stays with a process that stopped answering.
    paybot_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    # Requests a person may make with /pay per minute (per process), against floods and loops.
    paybot_rate_limit_per_minute: int = Field(default=30, ge=1, le=1_000_000)
    # Seconds a command waits for the processor inside Slack's 3 s before it acks "Looking up …"
    # and answers through the response_url instead: 0.7 s keeps every answer within 1 s.
    paybot_answer_budget: float = Field(default=0.7, ge=0, le=2.5)
    # Where a request's response_url may point (origins, comma-separated): Slack's hooks only,
    # so a forged payload cannot send a page elsewhere. The origin of a SLACK_API_URL other than
    # Slack's (the fake of the tests and the demo, which serves response_urls) is allowed too.
    paybot_response_url_origins: str = "https://hooks.slack.com,https://hooks.slack-gov.com"
    # DEBUG also prints the traceback of a start-up failure; `auto` is plain lines on a
    # terminal and JSON lines otherwise.
    paybot_log_level: LogLevel = "INFO"
    paybot_log_format: LogFormat = "auto"
    # The firm's clock (an IANA zone): every day the bot counts (today, a report's days, a
    # deadline's days left, a refund's expected date) is a day there.
    paybot_timezone: str = DEFAULT_ZONE
    # When the daily settlement digest goes to the notify channel: a time of day on the firm's
    # clock, HH:MM (seconds allowed); unset, no digest.
    paybot_daily_digest_at: str | None = None
    # What the sandbox processor charges, taken from the operating withdrawal (never trust's):
    # a percentage and a fixed amount per payment, and an amount per dispute (dollars).
    paybot_sandbox_fee_percent: Decimal = Field(default=Decimal("2.9"), ge=0, le=20)
    paybot_sandbox_fee_fixed: Decimal = Field(default=Decimal("0.30"), ge=0, le=100)
    paybot_sandbox_dispute_fee: Decimal = Field(default=Decimal("15.00"), ge=0, le=1000)
    # A bookkeeping checklist still open this many business days after it was posted is
    # reminded once in its thread.
    paybot_checklist_remind_business_days: int = Field(default=2, ge=1, le=60)
    # The approval policy (bot/policy.py, whose table is in the README): refunds (and accepting
    # disputes) of this amount or more need a second approval, of the kind
    # PAYBOT_SECOND_APPROVAL names; unset, one approval is enough.
    paybot_refund_second_approval_over: Decimal | None = Field(default=None, gt=0)
    paybot_second_approval: SecondApproval = SecondApproval.TWO_APPROVERS
    # Hours a request waits undecided before it is raised again (once), and before it expires;
    # 0 (or, for the expiry, unset): never.
    paybot_approval_remind_hours: float = Field(default=24.0, ge=0, le=24 * 365)
    paybot_approval_expire_hours: float | None = Field(default=None, ge=0, le=24 * 365)
    # The firm's own deadline for a dispute: this many business days before the processor's.
    paybot_dispute_margin_days: int = Field(default=5, ge=0, le=30)

    @property
    def policy(self) -> Policy:
        return Policy.of(
            self.paybot_refund_second_approval_over,
            self.paybot_second_approval,
            self.paybot_approval_remind_hours,
            self.paybot_approval_expire_hours,
        )

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.paybot_timezone)

    @property
    def daily_digest_at(self) -> time | None:
        return (
            time.fromisoformat(self.paybot_daily_digest_at) if self.paybot_daily_digest_at else None
        )

    @field_validator("paybot_daily_digest_at")
    @classmethod
    def _digest_at(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not DIGEST_AT.fullmatch(value.strip()):
            raise ValueError(
                f"{value!r} is not a time of day: give HH:MM on the 24-hour clock, such as 08:30"
            )
        return value.strip()

    @field_validator("paybot_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return zone_named(value).key

    @field_validator(
        "paybot_sandbox_fee_percent", "paybot_sandbox_fee_fixed", "paybot_sandbox_dispute_fee"
    )
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        if value.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValueError("must have at most two decimal places")
        return value

    @field_validator("paybot_log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("paybot_log_format", mode="before")
    @classmethod
    def _format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("stripe_api_key")
    @classmethod
    def _stripe_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("sk_", "rk_")):
            raise ValueError("must be a secret key (sk_…) or a restricted key (rk_…)")
        return value

    @field_validator("stripe_api_base")
    @classmethod
    def _stripe_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.stripe.com")
        return value.rstrip("/")

    @field_validator("payrix_api_base")
    @classmethod
    def _payrix_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.payrix.com")
        return value.rstrip("/")

    @field_validator("payrix_alert_ips", "paybot_trusted_proxies")
    @classmethod
    def _addresses(cls, value: str | None) -> str | None:
        import ipaddress

        for part in (value or "").split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"{part.strip()!r} is not an IP address or CIDR range"
                    ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        path = value.removeprefix("sqlite+aiosqlite://").removeprefix("/").split("?")[0]
        if value.startswith("sqlite") and path in ("", ":memory:"):
            # Every process and connection would see its own empty database: nothing persists.
            raise ValueError("must name a database file, e.g. sqlite+aiosqlite:///paybot.db")
        return value

    @field_validator("paybot_notify_channel", "paybot_approvals_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is None or CHANNEL_ID.fullmatch(value):
            return value
        if value.startswith("#"):
            raise ValueError(
                f"must be the channel's id (C… or G…), not its name {value}: in Slack open the "
                "channel's details, the id is at the bottom"
            )
        raise ValueError("must be a channel id such as C0123456789 (C… or G…)")

    def response_url_allowed(self, url: str) -> bool:
        """Whether ``url`` is on one of Slack's hosts: it starts with an allowed origin and a
        `/`, so its host is that origin's (a host ends at the first `/`)."""
        return url.startswith(self._response_url_prefixes)

    @cached_property
    def _response_url_prefixes(self) -> tuple[str, ...]:
        """Every request's response_url is checked (bot/handlers/gate.py): the origins are read
        from the settings once, not split and parsed per request."""
        allowed = {
            _origin(o.strip()) for o in self.paybot_response_url_origins.split(",") if o.strip()
        }
        if not self.slack_api_url.startswith("https://slack.com/"):
            allowed.add(_origin(self.slack_api_url))
        return tuple(f"{origin}/" for origin in sorted(allowed))

    def require(self, *names: str) -> None:
        """Stop start-up naming every missing setting a command needs, at once."""
        missing = [name.upper() for name in names if getattr(self, name) is None]
        if len(missing) == 1:
            raise ConfigError(f"{missing[0]} is not set: it is required to start this command")
        if missing:
            raise ConfigError(
                f"{', '.join(missing)} are not set: they are required to start this command"
            )

    def secret(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            raise ConfigError(f"{name.upper()} is not set")
        return str(value.get_secret_value())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def load_settings(**overrides: object) -> Settings:
    """Settings, with malformed values turned into one line that names each."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "SETTINGS"
            problems.append(f"{name} is malformed: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError("; ".join(problems)) from None


def unknown_variables(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(ENV_FILE)
) -> list[str]:
    """A line for each PAYBOT_/SLACK_/STRIPE_/PAYRIX_ variable no setting reads (a typo is
    otherwise silently ignored), with the closest known name."""
    known = {name.upper() for name in Settings.model_fields}
    seen = dict(os.environ if environ is None else environ)
    if env_file is not None and env_file.is_file():
        seen |= {k: v or "" for k, v in dotenv_values(env_file).items()}
    lines = []
    for name in sorted({n.upper() for n in seen}):
        if name.startswith(PREFIXES) and name not in known | TEST_KNOBS:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f": did you mean {close[0]}?" if close else ": no setting has this name"
            lines.append(f"{name} is not a Paybot setting and is ignored{hint}")
    return lines
