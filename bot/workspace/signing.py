"""Signing a request as Slack does: the timestamp and the v0 signature headers."""

from __future__ import annotations

import time

from slack_sdk.signature import SignatureVerifier


def sign(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds to every request; pass an old `timestamp` to forge a stale
    (replayed) request."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    if signature is None:
        raise ValueError("cannot sign without a body and a timestamp")
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
