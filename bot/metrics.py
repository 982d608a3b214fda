"""Prometheus metrics, one registry per bot (so tests can run several bots in one process)."""

from __future__ import annotations

import functools
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.errors import ProcessorError


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "paybot_requests", "HTTP requests answered", ["route", "status"], registry=self.registry
        )
        self._requests_by: dict[tuple[str, int], Any] = {}
        self.ack_latency = Histogram(
            "paybot_slack_ack_seconds",
            "Time to answer Slack on /slack/events (the 3-second clock)",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5),
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "paybot_outbox_backlog", "Notifications not yet delivered", registry=self.registry
        )
        self.jobs_backlog = Gauge(
            "paybot_jobs_backlog", "Jobs not yet done", registry=self.registry
        )
        self.job_failures = Counter(
            "paybot_job_failures",
            "Background job attempts that failed",
            ["kind"],
            registry=self.registry,
        )
        self.processor_errors = Counter(
            "paybot_processor_errors",
            "Errors from the payments processor",
            ["method", "retryable"],
            registry=self.registry,
        )

    def count_request(self, route: str, status: int) -> None:
        """One answered request, counted under its route and status. The labelled counters are
        kept: prometheus_client's ``labels`` checks and locks on every call."""
        key = (route, status)
        counter = self._requests_by.get(key)
        if counter is None:
            counter = self._requests_by[key] = self.requests.labels(route, str(status))
        counter.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MeteredGateway:
    """The gateway, counting processor errors by method; everything else passes through."""

    def __init__(self, gateway: Any, metrics: Metrics) -> None:
        self._gateway = gateway
        self._metrics = metrics
        self.name = gateway.name

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._gateway, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        @functools.wraps(attribute)
        async def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                return await attribute(*args, **kwargs)
            except ProcessorError as exc:
                self._metrics.processor_errors.labels(name, str(exc.retryable).lower()).inc()
                raise

        setattr(self, name, counted)  # built once: the next lookup finds it without __getattr__
        return counted

    def parse_webhook(self, body: bytes, headers: Any) -> Any:
        return self._gateway.parse_webhook(body, headers)

    async def close(self) -> None:
        await self._gateway.close()
