"""The Payrix REST API over one aiohttp session: the APIKEY header, the response envelope, the
``search`` header, page-number paging for pages a person turns and id-based walks for scripts.

Every answer is ``{"response": {"data": [...], "details": {...}, "errors": [...]}}``, and Payrix
reports many refusals with HTTP 200 and a non-empty ``errors``: those are errors here, whatever
the status line said, unless their ``severity`` says they only inform (see ``failures``).

Sources: resource.payrix.com/resources/api-call-syntax (search, page, expand; "when using
scripts to go through multiple pages, ID-based pagination should be used"),
resource.payrix.com/resources/rate-limiting (1,000 requests per 10 s; a 10 s block answered
with HTTP 429 and code 64 ``C_RATE_LIMIT_EXCEEDED_TEMP_BLOCK``),
resource.payrix.com/resources/ensure-idempotency-with-request-tokens (a repeated
``REQUEST-TOKEN`` returns the original response with ``"duplicateRequest": true`` for 48 h).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.errors import ProcessorError

log = logging.getLogger("paybot.payrix")

MAX_LIMIT = 100  # Payrix's largest page
RATE_LIMITED = {"C_RATE_LIMIT_EXCEEDED_TEMP_BLOCK"}
RATE_LIMIT_CODE = 64
RATE_LIMIT_BLOCK = 10.0  # seconds Payrix blocks an endpoint after its rate limit is exceeded
# ErrorItem.severity (eventsprout/payrix doc/models/error-item.md): 0 informational, 1 warning,
# 2 error, 4 failure. An entry at or below this level leaves the request processed.
INFORMATIVE_SEVERITY = 1


@dataclass(frozen=True)
class Term:
    """One condition of the ``search`` header: ``field[op]=value``."""

    field: str
    op: str
    value: str

    def render(self) -> str:
        return f"{self.field}[{self.op}]={quote(self.value, safe='-_.:,~')}"


def eq(field: str, value: object) -> Term:
    return Term(field, "equals", str(value))


def within(field: str, values: Iterable[object]) -> Term:
    return Term(field, "in", ",".join(str(v) for v in values))


def outside(field: str, values: Iterable[object]) -> Term:
    return Term(field, "notin", ",".join(str(v) for v in values))


def greater(field: str, value: object) -> Term:
    return Term(field, "greater", str(value))


def less(field: str, value: object) -> Term:
    return Term(field, "less", str(value))


def like(field: str, value: str) -> Term:
    return Term(field, "like", value)


def sort(field: str, direction: str = "desc") -> Term:
    return Term(field, "sort", direction)


def search_header(terms: Sequence[Term]) -> str:
    return "&".join(term.render() for term in terms)


@dataclass(frozen=True)
class Listing:
    records: tuple[dict[str, Any], ...]
    page: int
    has_more: bool
    totals: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Created:
    """A record POSTed, and whether Payrix answered it as a repeat of an earlier request."""

    record: dict[str, Any]
    duplicate: bool = False


def has_more(details: Mapping[str, Any], page: int, count: int, limit: int) -> bool:
    """Payrix has two paging shapes: ``page: {current, last, hasMore}`` and, on older
    resources, ``totals: {count, page, pages}``; with neither, a full page means maybe more."""
    paging = details.get("page")
    if isinstance(paging, Mapping) and "hasMore" in paging:
        return bool(paging["hasMore"])
    totals = details.get("totals")
    if isinstance(totals, Mapping) and "pages" in totals:
        try:
            return int(totals.get("page") or page) < int(totals["pages"])
        except (TypeError, ValueError):
            pass
    return count >= limit


def error_text(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors:
        if isinstance(error, Mapping):
            text = str(error.get("msg") or error.get("message") or "an error")
            extra = [str(error[k]) for k in ("field", "errorCode") if error.get(k)]
            parts.append(f"{text} ({', '.join(extra)})" if extra else text)
        else:
            parts.append(str(error))
    return "; ".join(parts) or "an unspecified error"


def severity(error: Any) -> int:
    """An entry's severity; one without a readable severity counts as an error."""
    if isinstance(error, Mapping):
        try:
            return int(error.get("severity"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            pass
    return 2


def failures(errors: Sequence[Any]) -> list[Any]:
    """The entries that mean the request failed; informative and warning ones are logged only."""
    return [e for e in errors if severity(e) > INFORMATIVE_SEVERITY]


def duplicate_request(body: Mapping[str, Any]) -> bool:
    """Payrix's page shows the flag as ``"duplicateRequest": true`` without saying where in the
    envelope it sits; it is looked for at the top, in ``response`` and in ``details`` (the one
    place a firm should check on its test account by repeating a refund's REQUEST-TOKEN)."""
    response = body.get("response")
    places: list[Any] = [body]
    if isinstance(response, Mapping):
        places += [response, response.get("details")]
        data = response.get("data")
        if isinstance(data, list) and data and isinstance(data[0], Mapping):
            places.append(data[0])
    return any(isinstance(p, Mapping) and to_flag(p.get("duplicateRequest")) for p in places)


def to_flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in ("1", "true", "yes")
    return bool(value)


def _rate_limited(errors: Sequence[Any]) -> bool:
    return any(
        isinstance(e, Mapping)
        and (e.get("errorCode") in RATE_LIMITED or str(e.get("code")) == str(RATE_LIMIT_CODE))
        for e in errors
    )


class PayrixClient:
    """One session per gateway, made on first use (inside the running loop) and closed once."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("a Payrix API key is required")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._sleep = sleep

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers={
                    "APIKEY": self._api_key,
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                },
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def fetch(
        self,
        resource: str,
        terms: Sequence[Term] = (),
        *,
        page: int = 1,
        limit: int = 30,
        expand: Sequence[str] = (),
        totals: str | None = None,
    ) -> Listing:
        """One page. ``totals`` is Payrix's ``totals`` header (``total[sum]=…``): Payrix then
        adds its own sums over the whole search to ``details.totals``."""
        limit = max(1, min(limit, MAX_LIMIT))
        params = [("page[number]", str(max(1, page))), ("page[limit]", str(limit))]
        params += [(f"expand[{name}][]", "") for name in expand]
        headers = {"search": search_header(terms)} if terms else {}
        if totals:
            headers["totals"] = totals
        body = await self._request("GET", f"/{resource}", params=params, headers=headers)
        response = body.get("response") or {}
        records = tuple(r for r in response.get("data") or () if isinstance(r, dict))
        details = response.get("details") or {}
        details = details if isinstance(details, Mapping) else {}
        more = has_more(details, page, len(records), limit)
        sums = details.get("totals")
        return Listing(records, page, more, sums if isinstance(sums, Mapping) and sums else None)

    async def walk(
        self,
        resource: str,
        terms: Sequence[Term] = (),
        *,
        expand: Sequence[str] = (),
        max_records: int = 5000,
    ) -> list[dict[str, Any]]:
        """Every record a search finds, by id: ``sort id asc`` and ``id[greater]`` the last one
        read, so records whose ``modified`` changes during the walk are neither skipped nor read
        twice (Payrix's api-call-syntax page: scripts should page by id)."""
        found: list[dict[str, Any]] = []
        last: str | None = None
        while True:
            wanted = [*terms, *([greater("id", last)] if last else []), sort("id", "asc")]
            listing = await self.fetch(resource, wanted, limit=MAX_LIMIT, expand=expand)
            fresh = [r for r in listing.records if last is None or str(r.get("id", "")) > last]
            found += fresh
            if not fresh or not listing.has_more:
                return found
            if len(found) >= max_records:
                raise ProcessorError(
                    f"Payrix has more than {max_records} {resource} records for this request; "
                    "ask for a shorter period."
                )
            last = str(fresh[-1].get("id", ""))

    async def get(
        self, resource: str, record_id: str, *, expand: Sequence[str] = ()
    ) -> dict[str, Any] | None:
        """The record with exactly this id, or None (Payrix answers unknown ids with no data)."""
        params = [(f"expand[{name}][]", "") for name in expand]
        path = f"/{resource}/{quote(record_id, safe='')}"
        body = await self._request("GET", path, params=params, missing_ok=True)
        data = (body.get("response") or {}).get("data") or ()
        for record in data:
            if isinstance(record, dict) and record.get("id") == record_id:
                return record
        return None

    async def create(
        self, resource: str, payload: Mapping[str, Any], *, request_token: str | None = None
    ) -> dict[str, Any]:
        return (await self.create_once(resource, payload, request_token=request_token)).record

    async def create_once(
        self, resource: str, payload: Mapping[str, Any], *, request_token: str | None = None
    ) -> Created:
        """POST a new record. ``request-token`` makes Payrix return the first response to the
        same token, flagged ``duplicateRequest``, instead of making another (for 48 hours)."""
        headers = {"request-token": request_token} if request_token else {}
        body = await self._request("POST", f"/{resource}", json_body=payload, headers=headers)
        data = (body.get("response") or {}).get("data") or ()
        if not data or not isinstance(data[0], dict):
            raise ProcessorError(
                f"Payrix accepted the {resource} request but sent no record back; "
                "check the Payrix portal before trying again.",
                retryable=True,
            )
        duplicate = duplicate_request(body)
        if duplicate:
            log.info(
                "payrix POST /%s: token %s answered as the earlier request", resource, request_token
            )
        return Created(data[0], duplicate)

    async def upload(self, path: str, name: str, mimetype: str, content: bytes) -> dict[str, Any]:
        """POST one file as ``multipart/form-data`` (its part named ``file``), as Payrix takes a
        chargeback document's bytes at ``/files/chargebackDocuments/{id}``."""
        form = aiohttp.FormData()
        form.add_field("file", content, filename=name, content_type=mimetype)
        payload = form()
        try:
            async with self._http().post(
                self.base_url + path,
                data=payload,
                headers={"Content-Type": payload.content_type},  # not the session's JSON type
            ) as reply:
                status, text = reply.status, await reply.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProcessorError(
                f"Payrix did not answer ({type(exc).__name__}); try again in a moment.",
                retryable=True,
            ) from None
        return self._read("POST", path, status, text, False)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        url = self.base_url + path
        for attempt in (1, 2):
            try:
                async with self._http().request(
                    method,
                    url,
                    params=list(params),
                    headers=dict(headers or {}),
                    data=None if json_body is None else json.dumps(json_body),
                ) as reply:
                    status = reply.status
                    text = await reply.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise ProcessorError(
                    f"Payrix did not answer ({type(exc).__name__}); try again in a moment.",
                    retryable=True,
                ) from None
            if attempt == 1 and self._blocked(status, text):
                log.warning("payrix %s %s: rate-limit block; waiting it out once", method, path)
                await self._sleep(RATE_LIMIT_BLOCK)
                continue
            break
        return self._read(method, path, status, text, missing_ok)

    @staticmethod
    def _blocked(status: int, text: str) -> bool:
        """Payrix's temporary block: HTTP 429, or code 64 in ``errors`` (any status line)."""
        if status == 429:
            return True
        if "C_RATE_LIMIT" not in text and '"code": 64' not in text and '"code":64' not in text:
            return False
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            return False
        if not isinstance(body, dict):
            return False
        errors = list(body.get("errors") or ())
        response = body.get("response")
        if isinstance(response, dict):
            errors += list(response.get("errors") or ())
        return _rate_limited(errors)

    @staticmethod
    def _read(method: str, path: str, status: int, text: str, missing_ok: bool) -> dict[str, Any]:
        try:
            body = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            raise ProcessorError(
                f"Payrix answered {method} {path} with HTTP {status} and no readable body.",
                retryable=status >= 500 or status == 429,
            )
        response = body.get("response")
        errors = list(body.get("errors") or ())
        if isinstance(response, dict):
            errors += list(response.get("errors") or ())
        if status == 404 and missing_ok:
            return {"response": {"data": []}}
        if status in (401, 403):
            raise ProcessorError(
                f"Payrix refused the API key (HTTP {status}): check PAYRIX_API_KEY. "
                f"{error_text(errors) if errors else ''}".strip()
            )
        failed = failures(errors)
        if len(failed) < len(errors):
            log.info(
                "payrix %s %s: informative %s", method, path, [e for e in errors if e not in failed]
            )
        if failed:
            retryable = _rate_limited(failed) or status >= 500 or status == 429
            log.warning("payrix %s %s: HTTP %s errors %s", method, path, status, failed)
            if _rate_limited(failed):
                raise ProcessorError(
                    f"Payrix is blocking {path} for {RATE_LIMIT_BLOCK:.0f} seconds after too many "
                    "requests; try again in a moment.",
                    retryable=True,
                )
            raise ProcessorError(
                f"Payrix refused {method} {path}: {error_text(failed)}", retryable=retryable
            )
        if status == 429 or status >= 500:
            raise ProcessorError(
                f"Payrix is busy or failing (HTTP {status}); try again in a moment.",
                retryable=True,
            )
        if status >= 400:
            raise ProcessorError(f"Payrix refused {method} {path} (HTTP {status}).")
        if not isinstance(response, dict):
            raise ProcessorError(
                f"Payrix answered {method} {path} without the usual response envelope."
            )
        return body
