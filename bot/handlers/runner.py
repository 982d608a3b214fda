"""How every listener runs: an error raised after the ack goes to the app's one error path and
the HTTP answer stays the ack's.

Bolt's asyncio runner (``slack_bolt/listener/asyncio_runner.py``, ``process_before_response``
off) runs the listener as a task and polls ``ack.response`` every 10 ms. When the listener raises
after ``await ack()``, its ``except`` branch sets ``ack.response = None``; if the poll had not
seen the ack yet, the request then waits out the 3 s and is answered 404 "unhandled request",
although the person was also told about the error. Here the listener's errors after the ack are
caught where Bolt runs it, handed to the same error handler (with ``response=None``, as Bolt
would), and never reach Bolt's ``except`` branch. Errors before the ack are answered as Bolt would: with what the error handler says.

Bolt's runner also costs every request up to 10 ms between the ack and the HTTP answer (its
poll), and a timer wake-up every 10 ms per waiting request under load. Here the ack wakes the
answer itself (``SignalledAck``): a `/pay lookup` answered in the ack goes out as soon as the
listener acks (bench/answers.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_bolt.util.utils import convert_to_dict_list

from bot.handlers.budget import first_of


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


log = logging.getLogger("paybot.runner")
# What a message answered in the ack is given (Command.answer): text, blocks and its type.
_MESSAGE = {"text", "blocks", "response_type"}


class SignalledAck(AsyncAck):
    """Bolt's ack, which also wakes the request waiting for it (instead of Bolt's 10 ms poll).

    A message answered in the ack (text, blocks and a response type, nothing else) is the body
    Bolt's ack makes of it (its ``_set_response``: the same keys, the blocks through the same
    ``convert_to_dict_list``), encoded by orjson: the standard library's encoder took 17
    microseconds for a lookup card's kilobyte, orjson under two. Any other answer is Bolt's."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.given: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        if not args and kwargs.keys() == _MESSAGE and kwargs["blocks"]:
            body = {
                "text": kwargs["text"],
                "response_type": kwargs["response_type"],
                "blocks": convert_to_dict_list(kwargs["blocks"]),
            }
            answer = self.response = BoltResponse(status=200, body=orjson.dumps(body).decode())
        else:
            answer = await super().__call__(*args, **kwargs)
        self.answered()
        return answer

    def answered(self) -> None:
        if not self.given.done():
            self.given.set_result(None)


class AnsweringRunner(AsyncioListenerRunner):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running: set[asyncio.Future[None]] = set()  # listeners still at work after the ack
        self._answered: dict[AsyncListener, _AnsweredListener] = {}

    async def run(
        self,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: AsyncListener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        answered = self._answered.get(listener)
        if answered is None:  # made once per listener: it holds nothing of the request
            answered = self._answered[listener] = _AnsweredListener(listener, self)
        if self.process_before_response or listener.lazy_functions:
            result: BoltResponse | None = await super().run(
                request, response, listener_name, answered, starting_time
            )
            return result
        # The ack answers the request the moment it is given (Bolt's runner polls every 10 ms).
        ack = SignalledAck()
        request.context["ack"] = ack
        if listener.auto_acknowledgement:
            await ack()
        work = asyncio.ensure_future(self._listen(answered, ack, request, response))
        self._running.add(work)
        work.add_done_callback(self._running.discard)
        await first_of(ack.given, listener.ack_timeout)
        if ack.response is None:
            log.warning("%s did not acknowledge the request", listener_name)
        return ack.response

    async def finish(self, timeout: float) -> None:  # noqa: ASYNC109 - a shutdown deadline
        """Let the listeners still at work after their ack finish (``timeout`` seconds at most),
        so that none is cut off holding a database connection when the bot closes."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)

    async def _listen(
        self,
        listener: AsyncListener,
        ack: SignalledAck,
        request: AsyncBoltRequest,
        response: BoltResponse,
    ) -> None:
        """Bolt's own steps around a listener; an error before the ack becomes the ack's
        answer through the error handler, as in Bolt."""
        try:
            await self.listener_start_handler.handle(request=request, response=response)
            await listener.run_ack_function(request=request, response=response)
        except Exception as error:
            answer = BoltResponse(status=500) if ack.response is None else None
            await self.listener_error_handler.handle(error=error, request=request, response=answer)
            if ack.response is None:
                ack.response = answer
        finally:
            ack.answered()
            await self.listener_completion_handler.handle(request=request, response=response)


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
