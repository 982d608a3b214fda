"""A local stand-in of the Payrix REST API, serving the responses recorded from Payrix's test
environment (tests/fixtures/payrix/) on a free loopback port.

It behaves as Payrix does where the adapter depends on it: the APIKEY header, the response
envelope (with the paging ``details`` shape of each recorded file), the ``search`` header
(``field[op]=value&…``, ops equals / exact / like / in / greater / less / diff / notin / sort),
``page[number]`` and ``page[limit]`` (30 by default, 100 at most), ``expand[payment][]``,
``request-token`` on POST (a repeated token returns the first response with
``"duplicateRequest": true``, resource.payrix.com "Ensure Idempotency with Request Tokens"),
refusals delivered with HTTP 200 and a non-empty ``errors`` (severity 2; severity 0-1 entries
inform only), the rate-limit block (HTTP 429, code 64, for ``RATE_LIMIT_BLOCK`` seconds of the
stand-in's clock, resource.payrix.com "Rate Limiting"), eCheck refunds refused without
``first`` or ``last``, and ``/disbursements`` (with their ``/disbursementEntries``),
``/entityReturns`` and ``/alerts`` (with ``alertActions`` and ``alertTriggers``) in the shapes of
eventsprout/payrix ``doc/models``. Every request is
recorded (method, path, query, headers, JSON body) for tests to assert on.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web

FIXTURES = Path(__file__).parent / "fixtures" / "payrix"
API_KEY = "standin-payrix-api-key"
MERCHANT = "t1_mer_65f097a2848a4ceae39b6ee"  # the merchant of every recorded record

# resource -> the recorded files that hold its records
SOURCES = {
    "txns": ("transactions.json", "transactions_expanded.json"),
    "chargebacks": ("chargebacks.json",),
    "chargebackMessages": ("chargebackMessages.json",),
    "chargebackStatuses": ("chargebackStatuses.json",),
    "chargebackDocuments": ("chargebackDocuments.json",),
    "batches": ("batches.json",),
    "merchants": ("merchants.json",),
    "funds": ("synthetic/funds.json",),
    "disbursements": ("synthetic/disbursements.json",),
    "disbursementEntries": ("synthetic/disbursementEntries.json",),
    "entityReturns": ("synthetic/entityReturns.json",),
    "alerts": ("synthetic/alerts.json",),
    "alertActions": ("synthetic/alerts.json",),
    "alertTriggers": ("synthetic/alerts.json",),
}
RATE_LIMIT_BLOCK = timedelta(seconds=10)
MESSAGE_TYPES = {
    "assign",
    "notate",
    "acceptLiability",
    "createPreArbitration",
    "represent",
    "respond",
    "requestArbitration",
    "createArbitration",
    "requestPreArbitration",
    "requestResolutionToPreArbitration",
    "respondToDispute",
    "respondToPreArbitration",
    "unaccept",
}
DOCUMENT_TYPES = {"pdf", "png", "jpg", "tiff", "gif"}
ALERT_PREFIX = {"alerts": "alt", "alertActions": "ala", "alertTriggers": "alr"}
_TERM = re.compile(r"([A-Za-z0-9_.]+)\[([a-z]+)\]=(.*)")


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def recorded(resource: str) -> list[dict[str, Any]]:
    """The records of a resource exactly as recorded (the expanded file's txns as sent)."""
    found: dict[str, dict[str, Any]] = {}
    for name in SOURCES[resource]:
        for record in load(name)["response"]["data"]:
            found.setdefault(record["id"], record)
    return list(found.values())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def payrix_now(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-2]


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    @property
    def search(self) -> str | None:
        return self.headers.get("search")


@dataclass
class Canned:
    method: str
    path: str
    status: int
    body: dict[str, Any]


def error_body(msg: str, *, field_name: str | None = None, code: int = 15) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "severity": 2, "msg": msg, "errorCode": "invalid"}
    if field_name:
        error["field"] = field_name
    return {"response": {"data": [], "details": {"requestId": 1}, "errors": [error]}}


@dataclass
class PayrixStandIn:
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    api_key: str = API_KEY
    merchant: str = MERCHANT
    requests: list[Recorded] = field(default_factory=list)
    store: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    paging_shape: dict[str, str] = field(default_factory=dict)
    canned: list[Canned] = field(default_factory=list)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    delay: float = 0.0  # seconds before every answer: a slow processor
    notices: list[dict[str, Any]] = field(default_factory=list)
    informed: list[str] = field(default_factory=list)  # the resources answered with a notice
    blocked_until: datetime | None = None
    sums: bool = True  # answer the ``totals`` header (False: as if Payrix ignored it)
    url: str = ""
    _runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        for resource, names in SOURCES.items():
            details = load(names[0])["response"]["details"]
            self.paging_shape[resource] = "page" if "page" in details else "totals"
            records = []
            for record in recorded(resource):
                record = copy.deepcopy(record)
                if isinstance(record.get("payment"), dict):  # keep expansions aside, as Payrix does
                    self.payments[record["payment"]["id"]] = record["payment"]
                    record["payment"] = record["payment"]["id"]
                if isinstance(record.get("token"), dict):
                    record["token"] = record["token"].get("token")
                records.append(record)
            self.store[resource] = records

    # -- test controls ---------------------------------------------------------------------

    def add(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        self.store.setdefault(resource, []).append(record)
        return record

    def find(self, resource: str, record_id: str) -> dict[str, Any] | None:
        return next((r for r in self.store.get(resource, []) if r.get("id") == record_id), None)

    def respond_next(
        self, method: str, path: str, body: dict[str, Any], *, status: int = 200
    ) -> None:
        """Answer the next matching request with this body (once)."""
        self.canned.append(Canned(method, path, status, body))

    def block(self) -> None:
        """Exceed the rate limit now: every request is refused for the next ten seconds."""
        self.blocked_until = self.clock() + RATE_LIMIT_BLOCK

    def inform_next(self, msg: str) -> None:
        """Add a severity-1 (informative) entry to the next answer's ``errors``."""
        self.notices.append({"code": 0, "severity": 1, "msg": msg, "errorCode": "info"})

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    # -- server ----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/files/{resource}/{id}", self._file)
        app.router.add_route("*", "/{resource}", self._collection)
        app.router.add_route("*", "/{resource}/{id}", self._one)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _record(self, request: web.Request) -> Recorded:
        if self.delay:
            await asyncio.sleep(self.delay)
        text = await request.text()
        try:
            body = json.loads(text) if text else None
        except json.JSONDecodeError:
            body = text
        entry = Recorded(
            request.method, request.path, list(request.query.items()), dict(request.headers), body
        )
        self.requests.append(entry)
        return entry

    def _gate(self, entry: Recorded) -> web.Response | None:
        if self.blocked_until is not None and self.clock() < self.blocked_until:
            body = {
                "errors": [
                    {
                        "code": 64,
                        "severity": 2,
                        "msg": "Rate of requests exceeded - Temporary block implemented",
                        "errorCode": "C_RATE_LIMIT_EXCEEDED_TEMP_BLOCK",
                    }
                ]
            }
            return web.json_response(body, status=429)
        if entry.headers.get("APIKEY") != self.api_key:
            body = {
                "errors": [
                    {
                        "code": 4,
                        "severity": 3,
                        "msg": "Invalid authentication",
                        "errorCode": "invalid_auth",
                    }
                ]
            }
            return web.json_response(body, status=401)
        for canned in self.canned:
            if canned.method == entry.method and canned.path == entry.path:
                self.canned.remove(canned)
                return web.json_response(canned.body, status=canned.status)
        return None

    async def _collection(self, request: web.Request) -> web.Response:
        entry = await self._record(request)
        refused = self._gate(entry)
        if refused is not None:
            return refused
        resource = request.match_info["resource"]
        if resource not in self.store:
            return web.json_response(error_body(f"No such resource {resource}"), status=404)
        if request.method == "GET":
            return self._list(resource, entry)
        if request.method == "POST":
            return self._create(resource, entry)
        return web.json_response(error_body("Method not allowed"), status=405)

    async def _one(self, request: web.Request) -> web.Response:
        entry = await self._record(request)
        refused = self._gate(entry)
        if refused is not None:
            return refused
        resource = request.match_info["resource"]
        found = self.find(resource, request.match_info["id"])
        data = [self._expand(found, entry)] if found is not None else []
        return web.json_response(self._envelope(resource, data, 1, 1, False))

    # -- listing -----------------------------------------------------------------------------

    def _expand(self, record: dict[str, Any], entry: Recorded) -> dict[str, Any]:
        out = copy.deepcopy(record)
        if entry.param("expand[payment][]") is not None and isinstance(out.get("payment"), str):
            out["payment"] = copy.deepcopy(self.payments.get(out["payment"], out["payment"]))
        return out

    def _envelope(
        self, resource: str, data: list[dict[str, Any]], page: int, pages: int, more: bool
    ) -> dict[str, Any]:
        """The recorded file's paging shape, with any notice waiting (``inform_next``) in
        ``errors``, whichever the shape."""
        details: dict[str, Any] = {"requestId": 1}
        if self.paging_shape.get(resource) == "totals":
            details["totals"] = {"count": len(data), "page": page, "pages": pages}
        else:
            details["totals"] = []
            details["page"] = {"current": page, "last": pages, "hasMore": more}
        errors, self.notices = self.notices, []
        if errors:
            self.informed.append(resource)
        return {"response": {"data": data, "details": details, "errors": errors}}

    def _list(self, resource: str, entry: Recorded) -> web.Response:
        try:
            terms = parse_search(entry.search or "")
        except ValueError as exc:
            return web.json_response(error_body(str(exc)))
        records = [
            r for r in self.store[resource] if all(t.matches(r) for t in terms if t.op != "sort")
        ]
        for term in reversed([t for t in terms if t.op == "sort"]):
            records.sort(
                key=lambda r, t=term: sort_key(r.get(t.field)), reverse=term.value == "desc"
            )
        page = int(entry.param("page[number]") or 1)
        limit = min(int(entry.param("page[limit]") or 30), 100)
        pages = max(1, -(-len(records) // limit))
        chunk = records[(page - 1) * limit : page * limit]
        data = [self._expand(r, entry) for r in chunk]
        answer = self._envelope(resource, data, page, pages, page < pages)
        if entry.headers.get("totals") and self.sums:
            answer["response"]["details"]["totals"] = totals(entry.headers["totals"], records)
        return web.json_response(answer)

    # -- writes ------------------------------------------------------------------------------

    def _create(self, resource: str, entry: Recorded) -> web.Response:
        body = entry.body if isinstance(entry.body, dict) else {}
        token = entry.headers.get("request-token")
        if token and token in self.tokens:
            again = self._envelope(resource, [copy.deepcopy(self.tokens[token])], 1, 1, False)
            again["response"]["details"]["duplicateRequest"] = True  # the original response
            return web.json_response(again)
        if resource == "txns":
            made, refusal = self._refund(body)
        elif resource == "chargebackMessages":
            made, refusal = self._message(body)
        elif resource == "chargebackDocuments":
            made, refusal = self._document(body)
        elif resource in ("alerts", "alertActions", "alertTriggers"):
            made, refusal = {**self._stamp(ALERT_PREFIX[resource]), **body}, None
        else:
            made, refusal = None, f"POST /{resource} is not served by the stand-in"
        if refusal is not None or made is None:
            return web.json_response(error_body(refusal or "refused"))  # HTTP 200, as Payrix does
        self.store[resource].append(made)
        if token:
            self.tokens[token] = made
        return web.json_response(self._envelope(resource, [copy.deepcopy(made)], 1, 1, False))

    def _stamp(self, prefix: str) -> dict[str, Any]:
        now = payrix_now(self.clock())
        return {
            "id": f"t1_{prefix}_{secrets.token_hex(12)[:23]}",
            "created": now,
            "modified": now,
            "creator": "t1_log_standin",
            "modifier": "t1_log_standin",
            "inactive": 0,
            "frozen": 0,
        }

    def _refund(self, body: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        if body.get("merchant") != self.merchant:
            return None, "Invalid merchant"
        if body.get("type") not in (5, 8):
            return (
                None,
                f"The stand-in makes refunds only (type 5 or 8), not type {body.get('type')}",
            )
        original = self.find("txns", str(body.get("fortxn")))
        if original is None:
            return None, "Invalid fortxn"
        if body["type"] == 8 and not str(body.get("first") or body.get("last") or "").strip():
            return None, "first or last is required for eCheck transactions"
        if int(original.get("status") or 0) not in (3, 4):
            return None, "Transaction is not in a refundable state"
        refunded = sum(
            int(r.get("total") or 0)
            for r in self.store["txns"]
            if r.get("fortxn") == original["id"]
            and r.get("type") in (5, 8)
            and r.get("status") != 2
        )
        limit = int(original.get("approved") or original.get("total") or 0)
        if refunded + int(body.get("total") or 0) > limit:
            return None, "Refund total exceeds the original transaction"
        made = {
            **self._stamp("txn"),
            "merchant": self.merchant,
            "type": body["type"],
            "status": 1,
            "total": body.get("total"),
            "approved": body.get("total"),
            "fortxn": original["id"],
            "currency": original.get("currency", "USD"),
            "description": body.get("description"),
            "order": body.get("order", ""),
            "payment": original.get("payment"),
            "first": original.get("first"),
            "last": original.get("last"),
            "batch": None,
            "settled": None,
            "funded": None,
            "refunded": 0,
        }
        return made, None

    def _message(self, body: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        if self.find("chargebacks", str(body.get("chargeback"))) is None:
            return None, "Invalid chargeback"
        if body.get("type") not in MESSAGE_TYPES:
            return None, f"Invalid type {body.get('type')}"
        made = {
            **self._stamp("chm"),
            "chargeback": body["chargeback"],
            "date": body.get("date"),
            "type": body["type"],
            "fromQueue": None,
            "toQueue": None,
            "contact": body.get("contact"),
            "amount": body.get("amount"),
            "currency": body.get("currency", "USD"),
            "note": body.get("note"),
            "status": "requested",
            "imported": 0,
        }
        self._moved_by(made)
        return made, None

    def _document(self, body: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """A chargebackDocuments record (models/chargebackDocuments): its file comes after, as
        multipart to /files/chargebackDocuments/{id}, which sets ``ref``."""
        if self.find("chargebacks", str(body.get("chargeback"))) is None:
            return None, "Invalid chargeback"
        if body.get("type") not in DOCUMENT_TYPES:
            return None, f"Invalid type {body.get('type')}"
        made = {
            **self._stamp("chd"),
            "chargeback": body["chargeback"],
            "chargebackMessage": body.get("chargebackMessage"),
            "ref": None,
            "type": body["type"],
            "name": body.get("name"),
            "description": body.get("description"),
            "status": "created",
            "documentSource": None,
        }
        return made, None

    async def _file(self, request: web.Request) -> web.Response:
        """POST /files/chargebackDocuments/{id}: one multipart file for the record."""
        form = await request.post()
        upload = form.get("file")
        entry = Recorded(
            request.method, request.path, list(request.query.items()), dict(request.headers), None
        )
        if isinstance(upload, web.FileField):
            content = upload.file.read()
            entry.body = {
                "filename": upload.filename,
                "content_type": upload.content_type,
                "size": len(content),
                "content": content,
            }
        self.requests.append(entry)
        refused = self._gate(entry)
        if refused is not None:
            return refused
        record = self.find(request.match_info["resource"], request.match_info["id"])
        if record is None or entry.body is None:
            return web.json_response(error_body("Invalid document"))
        record.update(
            ref=f"{record['id']}.{record['type'].upper()}",
            status="processed",
            modified=record["created"],
        )
        return web.json_response(
            self._envelope(request.match_info["resource"], [copy.deepcopy(record)], 1, 1, False)
        )

    def _moved_by(self, message: dict[str, Any]) -> None:
        """What a message does to its case. In the recorded responses an ``acceptLiability``
        ended ``lost`` with a chargebackStatus, and a ``respondToDispute`` left the case open
        and actionable; a contest moves it to the cycle after (Payrix's cycle texts), no longer
        actionable, with a chargebackStatus naming the message."""
        case = self.find("chargebacks", message["chargeback"])
        if case is None:
            return
        moves = {
            "represent": "representment",
            "requestPreArbitration": "responseToIssuerPreArbitration",
            "requestArbitration": "arbitration",
        }
        now = message["created"]
        if message["type"] == "acceptLiability":
            case.update(status="lost", modified=now)
        elif message["type"] in moves:
            case.update(cycle=moves[message["type"]], actionable=0, modified=now)
        else:
            return
        self.add(
            "chargebackStatuses",
            {
                **self._stamp("chs"),
                "chargeback": case["id"],
                "chargebackMessage": message["id"],
                "status": case["status"],
            },
        )


def totals(header: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """``sum[]=total&count[]=id`` over every record the search found (not only the page)."""
    found: dict[str, dict[str, Any]] = {}
    for part in header.split("&"):
        operator, _, key = part.partition("[]=")
        values = [r.get(key) for r in records if r.get(key) is not None]
        if operator == "sum":
            found.setdefault("sum", {})[key] = sum(as_number(v) or 0 for v in values)
        elif operator == "count":
            found.setdefault("count", {})[key] = len(values)
    return found


def sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    number = as_number(value)
    return (1, number) if number is not None else (2, str(value))


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
        return float(value)
    return None


@dataclass(frozen=True)
class SearchTerm:
    field: str
    op: str
    value: str

    def matches(self, record: dict[str, Any]) -> bool:
        actual = record.get(self.field)
        if self.op in ("equals", "exact"):
            return actual is not None and same(actual, self.value)
        if self.op == "diff":
            return actual is None or not same(actual, self.value)
        if self.op == "in":
            return actual is not None and any(same(actual, v) for v in self.value.split(","))
        if self.op == "notin":
            return actual is None or not any(same(actual, v) for v in self.value.split(","))
        if self.op == "like":
            pattern = ".*".join(re.escape(part) for part in self.value.split("%"))
            return (
                actual is not None and re.fullmatch(pattern, str(actual), re.I | re.S) is not None
            )
        if self.op in ("greater", "less"):
            if actual is None:
                return False
            left, right = as_number(actual), as_number(self.value)
            if left is not None and right is not None:
                return left > right if self.op == "greater" else left < right
            return str(actual) > self.value if self.op == "greater" else str(actual) < self.value
        raise ValueError(f"Invalid search operator {self.op}")


def same(actual: Any, wanted: str) -> bool:
    left, right = as_number(actual), as_number(wanted)
    if left is not None and right is not None:
        return left == right
    return str(actual) == wanted


def parse_search(header: str) -> list[SearchTerm]:
    terms = []
    for part in header.split("&"):
        if not part:
            continue
        match = _TERM.fullmatch(part)
        if match is None:
            raise ValueError(f"Invalid search {part!r}")
        name, op, value = match.groups()
        terms.append(SearchTerm(name, op, unquote(value)))
    return terms
