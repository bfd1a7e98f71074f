"""Timing an LLM call: the ``llm_call`` context manager and the ``observe`` decorator.

Contract
- :class:`LLMCall` takes the start time when the block (or :meth:`LLMCall.begin`)
  starts and records exactly one event when it ends, with the end time, what the
  app set on it (completion, tokens, finish reason, any ``record()`` field) and,
  if the block raised, ``status=error`` with the exception's type name and
  message. The app's exception always propagates unchanged; recording never
  raises (the client counts its own failures).
- Its ``trace_id``, ``event_id`` and ``span_id`` exist from the start, so the
  app can use them (e.g. for feedback) inside the block. A call started inside
  another one joins its trace: same trace id, ``parent_span_id`` = the outer
  span, same session and user unless given.
- :func:`current_call` returns the innermost active call of this thread or
  asyncio task (``None`` outside), e.g. to set tokens inside an observed function.
"""

from __future__ import annotations

import functools
import inspect
import os
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, TypeVar

from vigil_sdk.items import new_event_id, new_trace_id

F = TypeVar("F", bound=Callable[..., Any])
_CURRENT: ContextVar[LLMCall | None] = ContextVar("vigil_current_call", default=None)
_INHERITED = ("session_id", "user_id")


def current_call() -> LLMCall | None:
    """The innermost LLM call being timed in this thread or task, if any."""
    return _CURRENT.get()


class LLMCall:
    """One LLM call being timed; set its outcome before the block ends."""

    def __init__(self, record: Callable[..., str | None], fields: Mapping[str, Any]) -> None:
        fields = dict(fields)
        outer = _CURRENT.get()
        self._record = record
        self.trace_id: str = fields.pop("trace_id", None) or (
            outer.trace_id if outer else new_trace_id())
        self.event_id: str = fields.pop("event_id", None) or new_event_id()
        self.span_id: str = fields.pop("span_id", None) or os.urandom(8).hex()
        if outer is not None:
            fields.setdefault("parent_span_id", outer.span_id)
            for name in _INHERITED:
                if name in outer.fields:
                    fields.setdefault(name, outer.fields[name])
        self.completion: str | None = fields.pop("completion", None)
        self.attributes: dict[str, Any] = dict(fields.pop("attributes", None) or {})
        self.fields: dict[str, Any] = fields  # every other record() keyword argument
        self.recorded_event_id: str | None = None  # set once recorded (None: sampled out)
        self._start = 0.0
        self._started = 0.0
        self._done = False
        self._token: Token[LLMCall | None] | None = None

    def tokens(self, input: int | None = None, output: int | None = None,
               cached: int | None = None) -> None:
        """Token counts as the provider reported them (input includes cached tokens)."""
        for name, value in (("input_tokens", input), ("output_tokens", output),
                            ("cached_input_tokens", cached)):
            if value is not None:
                self.fields[name] = value

    def set(self, **fields: Any) -> None:
        """Set any ``record()`` field, e.g. ``finish_reason`` or ``model``."""
        for name, value in fields.items():
            if name in ("completion", "attributes", "trace_id", "event_id", "span_id"):
                if name == "attributes":
                    self.attributes.update(value)
                else:
                    setattr(self, name, value)
            else:
                self.fields[name] = value

    def begin(self) -> LLMCall:
        self._start, self._started = time.time(), time.perf_counter()
        return self

    def end(self, error: BaseException | None = None) -> str | None:
        """Record the call (once); `error` marks it failed. Never raises."""
        if self._done:
            return self.recorded_event_id
        self._done = True
        try:
            fields = {**self.fields, "trace_id": self.trace_id, "event_id": self.event_id,
                      "span_id": self.span_id, "completion": self.completion,
                      "attributes": self.attributes, "start": self._start,
                      "end": self._start + (time.perf_counter() - self._started)}
            if error is not None:
                fields.update(status="error", error_type=type(error).__name__,
                              error_message=str(error))
            self.recorded_event_id = self._record(**fields)
        except Exception:  # the record callable never raises; this guards the dict work
            self.recorded_event_id = None
        return self.recorded_event_id

    def __enter__(self) -> LLMCall:
        self._token = _CURRENT.set(self)
        return self.begin()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._token is not None:
            try:
                _CURRENT.reset(self._token)
            except ValueError:  # exited in another context than entered
                _CURRENT.set(None)
            self._token = None
        self.end(exc)  # returning None: the app's exception, if any, propagates unchanged

    async def __aenter__(self) -> LLMCall:
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.__exit__(exc_type, exc, tb)


def observe(start_call: Callable[[dict[str, Any]], LLMCall], capture_io: bool,
            fields: Mapping[str, Any]) -> Callable[[F], F]:
    """A decorator timing each call of a function (sync or async) as an LLM call.

    With `capture_io`, the prompt is the function's ``messages`` or ``prompt``
    argument (else its first str argument or list of role/content dicts) and the
    completion its result when that is a str.
    """

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with _start(start_call, fields, capture_io, args, kwargs) as call:
                    result = await fn(*args, **kwargs)
                    _completion(call, result, capture_io)
                    return result
            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with _start(start_call, fields, capture_io, args, kwargs) as call:
                result = fn(*args, **kwargs)
                _completion(call, result, capture_io)
                return result
        return run  # type: ignore[return-value]

    return decorate


def _start(start_call: Callable[[dict[str, Any]], LLMCall], fields: Mapping[str, Any],
           capture_io: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> LLMCall:
    call_fields = dict(fields)
    if capture_io and "prompt" not in call_fields:
        call_fields["prompt"] = _prompt_of(args, kwargs)
    return start_call(call_fields)


def _prompt_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    for name in ("messages", "prompt"):
        if name in kwargs:
            return kwargs[name]
    for arg in args:
        if isinstance(arg, str) or (isinstance(arg, list | tuple) and arg and all(
                isinstance(m, Mapping) and "role" in m for m in arg)):
            return arg
    return None


def _completion(call: LLMCall, result: Any, capture_io: bool) -> None:
    if capture_io and call.completion is None and isinstance(result, str):
        call.completion = result
