"""Requests gRPC cannot decode (malformed protobuf, invalid UTF-8 in a string field) are
INVALID_ARGUMENT with the decoder's reason, not UNKNOWN: a permanent error, so clients
do not retry them. A server interceptor wraps each method's deserializer so that it
never raises; the method sees the undecodable request first and aborts. Unary and
client-streaming methods are guarded (every ingest and OTLP method, health Check)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import INGEST_EVENTS

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Undecodable:
    """What the guarded deserializer returns instead of raising."""

    reason: str


class DecodeGuard(grpc.aio.ServerInterceptor):
    def __init__(self) -> None:
        self._guarded: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
            self, continuation: Callable[[grpc.HandlerCallDetails],
                                         Awaitable[grpc.RpcMethodHandler]],
            handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        if method not in self._guarded:
            handler = await continuation(handler_call_details)
            if handler is None:
                return handler
            self._guarded[method] = guarded(handler)
        return self._guarded[method]


def guarded(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """The handler with a deserializer that never raises, or the handler itself when it
    has no deserializer or streams its answer."""
    decode = handler.request_deserializer
    if decode is None:
        return handler
    safe = _safe(decode)
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            _unary(handler.unary_unary), safe, handler.response_serializer)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            _client_stream(handler.stream_unary), safe, handler.response_serializer)
    return handler


def _safe(decode: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def deserialize(raw: bytes) -> Any:
        try:
            return decode(raw)
        except Exception as exc:  # DecodeError, and whatever else a decoder raises
            return Undecodable(str(exc) or type(exc).__name__)

    return deserialize


async def _refuse(context: grpc.aio.ServicerContext, request: Undecodable) -> None:
    INGEST_EVENTS.labels("undecodable").inc()
    log.info("undecodable request", reason=request.reason)
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                        f"the request is not a valid message: {request.reason}")


def _unary(behavior: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
           ) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, Undecodable):
            await _refuse(context, request)
        return await behavior(request, context)

    return call


def _client_stream(behavior: Callable[[AsyncIterator[Any], grpc.aio.ServicerContext],
                                      Awaitable[Any]]
                   ) -> Callable[[AsyncIterator[Any], grpc.aio.ServicerContext], Awaitable[Any]]:
    async def call(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        async def decoded() -> AsyncIterator[Any]:
            async for request in requests:
                if isinstance(request, Undecodable):
                    await _refuse(context, request)
                yield request

        return await behavior(decoded(), context)

    return call
