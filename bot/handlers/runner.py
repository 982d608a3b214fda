"""How every listener runs: an error raised after the ack goes to the app's one error path and
the HTTP answer stays the ack's.

Bolt's asyncio runner (``slack_bolt/listener/asyncio_runner.py``, ``process_before_response``
off) runs the listener as a task and polls ``ack.response`` every 10 ms. When the listener raises
after ``await ack()``, its ``except`` branch sets ``ack.response = None``; if the poll had not
seen the ack yet, the request then waits out the 3 s and is answered 404 "unhandled request",
although the person was also told about the error. Here the listener's errors after the ack are
caught where Bolt runs it, handed to the same error handler (with ``response=None``, as Bolt
would), and never reach Bolt's ``except`` branch. Errors before the ack still take Bolt's own
path, whose answer is the error handler's.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse


class _AnsweredListener(AsyncListener):
    """The listener as Bolt registered it, whose errors after the ack are handled, not raised."""

    def __init__(self, inner: AsyncListener, runner: AsyncioListenerRunner) -> None:
        self.inner = inner
        self.runner = runner
        self.matchers = inner.matchers
        self.middleware = inner.middleware
        self.ack_function = inner.ack_function
        self.lazy_functions = inner.lazy_functions
        self.auto_acknowledgement = inner.auto_acknowledgement
        self.ack_timeout = inner.ack_timeout

    async def run_ack_function(
        self, *, request: AsyncBoltRequest, response: BoltResponse
    ) -> BoltResponse | None:
        try:
            return await self.inner.run_ack_function(request=request, response=response)
        except Exception as error:
            if request.context.ack is None or request.context.ack.response is None:
                raise  # not acknowledged yet: Bolt answers with what the error handler says
            await self.runner.listener_error_handler.handle(
                error=error, request=request, response=None
            )
            return None


class AnsweringRunner(AsyncioListenerRunner):
    async def run(
        self,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: AsyncListener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        answered = _AnsweredListener(listener, self)
        result: BoltResponse | None = await super().run(
            request, response, listener_name, answered, starting_time
        )
        return result


def install(app: AsyncApp) -> None:
    """Run every listener of ``app`` through AnsweringRunner (Bolt offers no public hook for
    the runner; the one it builds is replaced by an equal one of this class)."""
    bolt: Any = app
    current: AsyncioListenerRunner = bolt._async_listener_runner
    bolt._async_listener_runner = AnsweringRunner(
        logger=current.logger,
        process_before_response=current.process_before_response,
        listener_error_handler=current.listener_error_handler,
        listener_start_handler=current.listener_start_handler,
        listener_completion_handler=current.listener_completion_handler,
        lazy_listener_runner=current.lazy_listener_runner,
    )
