"""localstripe, with Stripe's list semantics, for the tests: ``python tests/localstripe_shim.py
--port N`` serves it on 127.0.0.1:N.

localstripe 1.15 runs as is with our aiohttp; where it differs from Stripe in what the adapter
relies on, this shim makes it behave as Stripe documents, in front of localstripe's own handlers:

- lists: Stripe returns newest first and takes ``starting_after``, ``ending_before``,
  ``created[gt|gte|lt|lte]`` and (events) ``types[]``; localstripe lists oldest first and
  knows only ``starting_after``. The shim asks localstripe for the whole list and pages it.
- disputes and the Files API: localstripe has neither; tests/localstripe_disputes.py serves them
  (an account without disputes until a test opens one at ``/_config/disputes``).
- every write pickles the whole store to ``/tmp/localstripe.pickle``, a file shared by every
  localstripe on the machine: the shim keeps the store in memory only.

Everything else (objects, refunds, webhooks and their signatures) is localstripe's own.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from aiohttp import web
from localstripe import resources, server

try:
    from tests import localstripe_disputes
except ImportError:  # run as a script: tests/ is this file's own directory
    import localstripe_disputes  # type: ignore[no-redef]

resources.Store.dump_to_disk = lambda self: None

PAGING = ("limit", "starting_after", "ending_before")
CREATED = re.compile(r"created\[(gt|gte|lt|lte)\]")
TYPES = re.compile(r"types\[\d*\]")
LIST = re.compile(r"/v1/[a-z_]+")
SINGLETONS = {"/v1/balance"}


def _matches(item: dict[str, Any], created: dict[str, int], types: list[str]) -> bool:
    at = int(item.get("created") or 0)
    checks = {
        "gt": at > created.get("gt", at - 1),
        "gte": at >= created.get("gte", at),
        "lt": at < created.get("lt", at + 1),
        "lte": at <= created.get("lte", at),
    }
    return all(checks.values()) and (not types or item.get("type") in types)


@web.middleware
async def stripe_lists(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method != "GET" or not LIST.fullmatch(request.path) or request.path in SINGLETONS:
        return await handler(request)
    query = request.query
    paging = {name: query[name] for name in PAGING if name in query}
    created = {m.group(1): int(v) for k, v in query.items() if (m := CREATED.fullmatch(k))}
    types = [v for k, v in query.items() if TYPES.fullmatch(k)]
    rest = [
        (k, v)
        for k, v in query.items()
        if k not in PAGING and not CREATED.fullmatch(k) and not TYPES.fullmatch(k)
    ]
    whole = request.clone(rel_url=request.rel_url.with_query([*rest, ("limit", "1000000")]))
    response = await handler(whole)
    if response.status != 200 or not isinstance(response, web.Response) or response.body is None:
        return response
    listed = json.loads(response.body)
    if listed.get("object") != "list":
        return response
    order = {key: position for position, key in enumerate(resources.store)}
    items = sorted(
        listed["data"],
        key=lambda item: order.get(f"{item.get('object')}:{item.get('id')}", -1),
        reverse=True,
    )
    ids = [item["id"] for item in items]
    limit = int(paging.get("limit", 10))
    if "starting_after" in paging:
        if paging["starting_after"] not in ids:
            return _missing(paging["starting_after"])
        after = [
            i
            for i in items[ids.index(paging["starting_after"]) + 1 :]
            if _matches(i, created, types)
        ]
        page, more = after[:limit], len(after) > limit
    elif "ending_before" in paging:
        if paging["ending_before"] not in ids:
            return _missing(paging["ending_before"])
        before = [
            i for i in items[: ids.index(paging["ending_before"])] if _matches(i, created, types)
        ]
        page, more = before[-limit:], len(before) > limit
    else:
        matching = [i for i in items if _matches(i, created, types)]
        page, more = matching[:limit], len(matching) > limit
    return web.json_response(
        {"object": "list", "data": page, "has_more": more, "url": listed.get("url")}
    )


def _missing(object_id: str) -> web.Response:
    error = {
        "type": "invalid_request_error",
        "code": "resource_missing",
        "message": f"No such object: '{object_id}'",
    }
    return web.json_response({"error": error}, status=400)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server.app.middlewares.insert(0, stripe_lists)
    server.app.middlewares.insert(0, localstripe_disputes.flushing)
    localstripe_disputes.install(server.app)
    web.run_app(server.app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
