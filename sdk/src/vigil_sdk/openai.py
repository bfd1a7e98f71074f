"""Recording the chat completions of an OpenAI-style client.

``wrap_openai(openai_client, vigil)`` replaces ``openai_client.chat.completions.create``
(sync, or async for ``AsyncOpenAI``) with a function that calls the original
unchanged and records one trace event per call: the model and messages asked
for, the request parameters, the latency, the first choice's text and finish
reason, and the usage (``prompt_tokens``, ``completion_tokens``,
``prompt_tokens_details.cached_tokens``). An exception of the call is recorded
as an error and re-raised unchanged. With ``stream=True`` the returned stream is
wrapped: chunks pass through untouched, the text is gathered, and the event is
recorded when the stream ends, fails or is closed (usage only if the app asked
for it with ``stream_options={"include_usage": True}``; otherwise Vigil
estimates the tokens). A ``vigil={...}`` keyword argument is taken out of the
request and used as ``record()`` fields (e.g. ``trace_id``, ``user_id``).

It is duck-typed (the ``openai`` package is not needed); it never raises on its
own account, and wrapping twice is harmless.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from vigil_sdk.capture import LLMCall

if TYPE_CHECKING:
    from vigil_sdk.client import VigilClient

T = TypeVar("T")
_PARAMS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed",
           "response_format", "n", "presence_penalty", "frequency_penalty")
_MARK = "__vigil_wrapped__"


def wrap_openai(openai_client: T, vigil: VigilClient, *, provider: str = "openai",
                **fields: Any) -> T:
    """Record every chat completion of `openai_client` with `vigil`; returns the same
    client object. `fields` are ``record()`` fields added to every event."""
    try:
        completions = openai_client.chat.completions  # type: ignore[attr-defined]
        original = completions.create
        if getattr(original, _MARK, False):
            return openai_client
        make = _async_create if inspect.iscoroutinefunction(original) else _sync_create
        wrapper = make(original, vigil, {"provider": provider, **fields})
        setattr(wrapper, _MARK, True)
        completions.create = wrapper
    except Exception as exc:
        vigil._counters.note_error(exc)
    return openai_client


def _sync_create(original: Callable[..., Any], vigil: VigilClient,
                 fields: Mapping[str, Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create(*args: Any, **kwargs: Any) -> Any:
        call = _begin(vigil, fields, kwargs)
        try:
            response = original(*args, **kwargs)
        except BaseException as exc:
            call.end(exc)
            raise
        return _finish(call, response, RecordedStream if kwargs.get("stream") else None)

    return create


def _async_create(original: Callable[..., Any], vigil: VigilClient,
                  fields: Mapping[str, Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def create(*args: Any, **kwargs: Any) -> Any:
        call = _begin(vigil, fields, kwargs)
        try:
            response = await original(*args, **kwargs)
        except BaseException as exc:
            call.end(exc)
            raise
        return _finish(call, response, AsyncRecordedStream if kwargs.get("stream") else None)

    return create


def _finish(call: LLMCall, response: Any, stream_type: Callable[..., Any] | None) -> Any:
    """A stream is recorded when it ends; a whole response now."""
    if stream_type is not None:
        return stream_type(response, call)
    _absorb_response(call, response)
    call.end()
    return response


def _begin(vigil: VigilClient, fields: Mapping[str, Any], kwargs: dict[str, Any]) -> LLMCall:
    """Start timing; takes the `vigil=` argument out of `kwargs`. Never raises."""
    extra = kwargs.pop("vigil", None)
    try:
        params = {name: kwargs[name] for name in _PARAMS if name in kwargs}
        call_fields = {**fields, "model": str(kwargs.get("model") or ""),
                       "prompt": kwargs.get("messages"), "params": params or None,
                       **(extra or {})}
        call = vigil.llm_call(**call_fields)
    except Exception as exc:
        vigil._counters.note_error(exc)
        call = LLMCall(lambda **_: None, {})
    return call.begin()


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _absorb_response(call: LLMCall, response: Any) -> None:
    try:
        choices = _get(response, "choices") or ()
        if choices:
            message = _get(choices[0], "message")
            content = _get(message, "content")
            tool_calls = _get(message, "tool_calls")
            if content is None and tool_calls:
                names = [str(_get(_get(c, "function"), "name") or "") for c in tool_calls]
                content = f"[tool calls: {', '.join(names)}]"
            call.completion = content if isinstance(content, str) else ""
            call.set(finish_reason=str(_get(choices[0], "finish_reason") or ""))
        _absorb_usage(call, _get(response, "usage"))
    except Exception:
        pass  # record what we have; the app's response is untouched


def _absorb_usage(call: LLMCall, usage: Any) -> None:
    if usage is None:
        return
    details = _get(usage, "prompt_tokens_details")
    cached = _get(details, "cached_tokens") if details is not None else None
    call.tokens(input=_int(_get(usage, "prompt_tokens")),
                output=_int(_get(usage, "completion_tokens")), cached=_int(cached))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _StreamRecorder:
    """Gathers the text, finish reason and usage of streamed chunks; records once."""

    def __init__(self, call: LLMCall) -> None:
        self._call = call
        self._parts: list[str] = []
        self._finish_reason = ""
        self._done = False

    def absorb(self, chunk: Any) -> None:
        try:
            choices = _get(chunk, "choices") or ()
            if choices:
                text = _get(_get(choices[0], "delta"), "content")
                if isinstance(text, str):
                    self._parts.append(text)
                self._finish_reason = str(_get(choices[0], "finish_reason") or "") or \
                    self._finish_reason
            _absorb_usage(self._call, _get(chunk, "usage"))
        except Exception:
            pass

    def end(self, error: BaseException | None = None, *, complete: bool = True) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._call.completion = "".join(self._parts)
            self._call.set(finish_reason=self._finish_reason)
            if not complete and error is None:
                self._call.attributes["stream"] = "closed before the end"
        finally:
            self._call.end(error)


class RecordedStream:
    """Passes a sync stream through and records the call when it ends."""

    def __init__(self, stream: Any, call: LLMCall) -> None:
        self._stream = stream
        self._iterator: Iterator[Any] | None = None
        self._recorder = _StreamRecorder(call)

    def __iter__(self) -> RecordedStream:
        return self

    def __next__(self) -> Any:
        if self._iterator is None:
            self._iterator = iter(self._stream)
        try:
            chunk = next(self._iterator)
        except StopIteration:
            self._recorder.end()
            raise
        except BaseException as exc:
            self._recorder.end(exc)
            raise
        self._recorder.absorb(chunk)
        return chunk

    def close(self) -> None:
        try:
            closer = getattr(self._stream, "close", None)
            if closer is not None:
                closer()
        finally:
            self._recorder.end(complete=False)

    def __enter__(self) -> RecordedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __del__(self) -> None:  # abandoned mid-stream: record what came
        recorder = self.__dict__.get("_recorder")
        if recorder is not None:
            recorder.end(complete=False)


class AsyncRecordedStream:
    """Passes an async stream through and records the call when it ends."""

    def __init__(self, stream: Any, call: LLMCall) -> None:
        self._stream = stream
        self._iterator: AsyncIterator[Any] | None = None
        self._recorder = _StreamRecorder(call)

    def __aiter__(self) -> AsyncRecordedStream:
        return self

    async def __anext__(self) -> Any:
        if self._iterator is None:
            self._iterator = self._stream.__aiter__()
        try:
            chunk = await self._iterator.__anext__()
        except StopAsyncIteration:
            self._recorder.end()
            raise
        except BaseException as exc:
            self._recorder.end(exc)
            raise
        self._recorder.absorb(chunk)
        return chunk

    async def close(self) -> None:
        try:
            closer = getattr(self._stream, "close", None) or getattr(self._stream, "aclose", None)
            if closer is not None:
                result = closer()
                if inspect.isawaitable(result):
                    await result
        finally:
            self._recorder.end(complete=False)

    async def __aenter__(self) -> AsyncRecordedStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __del__(self) -> None:  # abandoned mid-stream: record what came
        recorder = self.__dict__.get("_recorder")
        if recorder is not None:
            recorder.end(complete=False)
