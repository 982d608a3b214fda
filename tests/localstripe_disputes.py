"""Disputes and the Files API for localstripe, which has neither (tests/localstripe_shim.py
serves these routes in front of it): as Stripe documents them where the adapter relies on them.

- ``POST /v1/files`` (multipart ``purpose`` and ``file``; Stripe takes them at files.stripe.com):
  purpose ``dispute_evidence`` takes PDF, JPEG or PNG up to 5 MB (stripe.com/docs/file-upload).
- ``GET /v1/disputes[/{id}]``, ``POST /v1/disputes/{id}`` (evidence, metadata, ``submit``) and
  ``POST /v1/disputes/{id}/close``; an evidence file field must name an uploaded
  ``dispute_evidence`` file, and a submitted dispute takes no more evidence.
- Every POST honours ``Idempotency-Key``: the same key replays the first answer (Stripe keeps
  keys 24 hours), so a retry makes nothing twice.
- Test controls: ``POST /_config/disputes`` opens a dispute on a localstripe charge,
  ``GET /_config/files`` lists every upload as made (with a digest of its bytes).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

from aiohttp import web
from localstripe import resources

DISPUTES: dict[str, dict[str, Any]] = {}
FILES: dict[str, dict[str, Any]] = {}
UPLOADS: list[dict[str, Any]] = []  # every upload Stripe made, in order
REPLAYS: dict[str, tuple[int, Any]] = {}
FILE_FIELDS = {
    "cancellation_policy",
    "customer_communication",
    "customer_signature",
    "duplicate_charge_documentation",
    "receipt",
    "refund_policy",
    "service_documentation",
    "shipping_documentation",
    "uncategorized_file",
}
EVIDENCE_TYPES = {"pdf": "pdf", "png": "png", "jpg": "jpg", "jpeg": "jpg"}
EVIDENCE_MAX = 5 * 1024 * 1024


def _error(message: str, status: int = 400, code: str | None = None) -> tuple[int, Any]:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code:
        error["code"] = code
    return status, {"error": error}


def _answer(status: int, body: Any) -> web.Response:
    return web.json_response(body, status=status)


async def _once(request: web.Request, make: Any) -> web.Response:
    """Stripe's idempotency: a key seen before replays its first answer."""
    key = request.headers.get("Idempotency-Key")
    if key and key in REPLAYS:
        status, body = REPLAYS[key]
        return _answer(status, body)
    status, body = await make()
    if key:
        REPLAYS[key] = (status, body)
    return _answer(status, body)


def flush() -> None:
    for store in (DISPUTES, FILES, REPLAYS):
        store.clear()
    UPLOADS.clear()


# -- files ------------------------------------------------------------------------------------


async def create_file(request: web.Request) -> web.Response:
    async def make() -> tuple[int, Any]:
        form = await request.post()
        purpose, upload = form.get("purpose"), form.get("file")
        if not isinstance(upload, web.FileField):
            return _error("Missing required param: file.")
        if purpose != "dispute_evidence":
            return _error(f"Invalid purpose: {purpose}")
        content = upload.file.read()
        kind = EVIDENCE_TYPES.get(upload.filename.rsplit(".", 1)[-1].casefold())
        if kind is None:
            return _error("Dispute evidence must be a PDF, JPEG or PNG file.")
        if len(content) > EVIDENCE_MAX:
            return _error("Dispute evidence files must be 5 MB or smaller.")
        file_id = f"file_{secrets.token_hex(12)}"
        made = {
            "id": file_id,
            "object": "file",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 270 * 86400,
            "filename": upload.filename,
            "purpose": purpose,
            "size": len(content),
            "title": None,
            "type": kind,
            "url": f"/v1/files/{file_id}/contents",
        }
        FILES[file_id] = made
        UPLOADS.append({**made, "sha256": hashlib.sha256(content).hexdigest()})
        return 200, made

    return await _once(request, make)


async def get_file(request: web.Request) -> web.Response:
    found = FILES.get(request.match_info["id"])
    if found is None:
        return _answer(*_error(f"No such file upload: '{request.match_info['id']}'", 404))
    return web.json_response(found)


async def listed_files(request: web.Request) -> web.Response:
    return web.json_response(UPLOADS)


# -- disputes ---------------------------------------------------------------------------------


def _charge(charge_id: str) -> dict[str, Any]:
    charge = resources.store.get(f"charge:{charge_id}")
    if charge is None:
        return {"id": charge_id, "object": "charge", "metadata": {}}
    exported: dict[str, Any] = json.loads(json.dumps(charge._export(), default=str))
    return exported


def _shown(dispute: dict[str, Any], expand: list[str]) -> dict[str, Any]:
    out = dict(dispute)
    if any(e in ("charge", "data.charge") for e in expand):
        out["charge"] = _charge(dispute["charge"])
    return out


def _expand(values: Any) -> list[str]:
    return [v for k, v in values.items() if k.startswith("expand")]


async def open_dispute(request: web.Request) -> web.Response:
    given = await request.json()
    dispute_id = f"dp_{secrets.token_hex(12)}"
    DISPUTES[dispute_id] = {
        "id": dispute_id,
        "object": "dispute",
        "amount": int(given["amount"]),
        "currency": given.get("currency", "usd"),
        "charge": given["charge"],
        "payment_intent": None,
        "created": int(given.get("created", time.time())),
        "evidence": {name: None for name in FILE_FIELDS},
        "evidence_details": {
            "due_by": int(given["due_by"]),
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "reason": given.get("reason", "fraudulent"),
        "network_reason_code": given.get("network_reason_code", "10.4"),
        "status": "needs_response",
    }
    return web.json_response(DISPUTES[dispute_id])


async def list_disputes(request: web.Request) -> web.Response:
    charge = request.query.get("charge")
    found = [d for d in DISPUTES.values() if charge is None or d["charge"] == charge]
    found.sort(key=lambda d: d["created"], reverse=True)
    data = [_shown(d, _expand(request.query)) for d in found]
    return web.json_response(
        {"object": "list", "data": data, "has_more": False, "url": "/v1/disputes"}
    )


async def dispute(request: web.Request) -> web.Response:
    found = DISPUTES.get(request.match_info["id"])
    if found is None:
        return _answer(
            *_error(f"No such dispute: '{request.match_info['id']}'", 404, "resource_missing")
        )
    if request.method == "GET":
        return web.json_response(_shown(found, _expand(request.query)))

    async def make() -> tuple[int, Any]:
        form = await request.post()
        values = {k: str(v) for k, v in form.items()}
        closing = request.path.endswith("/close")
        if found["status"] not in ("needs_response", "warning_needs_response"):
            return _error("This dispute is already closed or under review.")
        evidence = {k[9:-1]: v for k, v in values.items() if k.startswith("evidence[")}
        for name in FILE_FIELDS & evidence.keys():
            upload = FILES.get(evidence[name])
            if upload is None or upload["purpose"] != "dispute_evidence":
                return _error(f"No such file upload: '{evidence[name]}'")
        metadata = {k[9:-1]: v for k, v in values.items() if k.startswith("metadata[")}
        found["metadata"] = {**found["metadata"], **metadata}
        found["evidence"] = {**found["evidence"], **evidence}
        if closing:
            found["status"] = "lost"
        elif values.get("submit") == "true":
            found["status"] = "under_review"
            found["evidence_details"]["submission_count"] += 1
        found["evidence_details"]["has_evidence"] = (
            bool(evidence) or found["evidence_details"]["has_evidence"]
        )
        return 200, _shown(found, _expand(values))

    return await _once(request, make)


def install(app: web.Application) -> None:
    app.router.add_get("/v1/files/{id}", get_file)
    app.router.add_get("/_config/files", listed_files)
    app.router.add_post("/_config/disputes", open_dispute)
    app.router.add_get("/v1/disputes", list_disputes)
    app.router.add_route("*", "/v1/disputes/{id}", dispute)
    app.router.add_post("/v1/disputes/{id}/close", dispute)


@web.middleware
async def flushing(request: web.Request, handler: Any) -> web.StreamResponse:
    """localstripe's DELETE /_config/data forgets these too; an upload is taken here, before
    localstripe's own middleware reads (and so spends) its multipart body."""
    if request.method == "DELETE" and request.path == "/_config/data":
        flush()
    if request.method == "POST" and request.path == "/v1/files":
        if not request.headers.get("Authorization", "").startswith("Bearer sk_"):
            return _answer(*_error("You did not provide an API key.", 401))
        return await create_file(request)
    return await handler(request)
