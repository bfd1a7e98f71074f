"""Talking to the collector (the ingest service) over gRPC, one parcel per call.

:class:`GrpcTransport` sends an ``EmitBatchRequest`` or a ``SubmitFeedbackRequest``
with the API key in the metadata and a deadline, and classifies the outcome as
an :class:`Answer`; it never raises. Transient (retry later with the same event
ids): UNAVAILABLE (also how gRPC reports refused connections), DEADLINE_EXCEEDED,
RESOURCE_EXHAUSTED, ABORTED, CANCELLED. ``too_large``: RESOURCE_EXHAUSTED for a
request the server found too big (the sender splits it). Permanent:
UNAUTHENTICATED / PERMISSION_DENIED, and everything else as ``rejected``.
A key over its rate limit gets RESOURCE_EXHAUSTED too: transient, the sender
backs off. TLS: ``tls=True``, an ``https://`` endpoint or ``root_certificates``
(PEM bytes, for a private CA) give a TLS channel.
Any object with the same three methods (:class:`Transport`) can replace it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import grpc

from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

Outcome = Literal["ok", "transient", "too_large", "unauthenticated", "rejected"]
_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                        grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED,
                        grpc.StatusCode.CANCELLED})
_DENIED = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
# Reconnect quickly once the collector is back (gRPC's default backoff grows to 120 s).
_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    results: Sequence[ingest_pb2.EventResult] = field(default=())  # EmitBatch only
    detail: str = ""  # status details, or "field: reason" of a rejection


class Transport(Protocol):
    def emit_batch(self, request: ingest_pb2.EmitBatchRequest) -> Answer: ...

    def submit_feedback(self, request: ingest_pb2.SubmitFeedbackRequest) -> Answer: ...

    def close(self) -> None: ...


def resolve_endpoint(endpoint: str, tls: bool) -> tuple[str, bool]:
    """host:port and whether to use TLS: `https://` asks for it, `http://` for plaintext."""
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        return endpoint, tls
    if scheme.lower() not in ("http", "https"):
        raise ValueError(f"endpoint scheme must be http:// or https://, not {scheme}://")
    return rest.rstrip("/"), scheme.lower() == "https"


def open_channel(endpoint: str, tls: bool, root_certificates: bytes | None = None
                 ) -> grpc.Channel:
    """The SDK's gRPC channel to the collector: TLS when asked (by `tls`, an `https://`
    endpoint or a CA bundle), with the SDK's channel options."""
    endpoint, tls = resolve_endpoint(endpoint, tls or root_certificates is not None)
    if tls:
        credentials = grpc.ssl_channel_credentials(root_certificates)
        return grpc.secure_channel(endpoint, credentials, _CHANNEL_OPTIONS)
    return grpc.insecure_channel(endpoint, _CHANNEL_OPTIONS)


class GrpcTransport:
    def __init__(self, endpoint: str, api_key: str, *, tls: bool, timeout_s: float,
                 root_certificates: bytes | None = None) -> None:
        self._channel = open_channel(endpoint, tls, root_certificates)
        self._stub = ingest_pb2_grpc.IngestServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._metadata = (("authorization", f"Bearer {api_key}"),)
        self._timeout_s = timeout_s

    def emit_batch(self, request: ingest_pb2.EmitBatchRequest) -> Answer:
        try:
            response = self._stub.EmitBatch(request, metadata=self._metadata,
                                            timeout=self._timeout_s)
        except grpc.RpcError as err:
            return classify(err)
        return Answer("ok", response.results)

    def submit_feedback(self, request: ingest_pb2.SubmitFeedbackRequest) -> Answer:
        try:
            self._stub.SubmitFeedback(request, metadata=self._metadata, timeout=self._timeout_s)
        except grpc.RpcError as err:
            return classify(err)
        return Answer("ok")

    def close(self) -> None:
        self._channel.close()


def classify(err: grpc.RpcError) -> Answer:
    code: grpc.StatusCode | None = getattr(err, "code", lambda: None)()
    details = str(getattr(err, "details", lambda: "")() or "")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than" in details.lower():
        return Answer("too_large", detail=details)
    if code in _TRANSIENT or code is None:
        return Answer("transient", detail=f"{code}: {details}")
    if code in _DENIED:
        return Answer("unauthenticated", detail=details)
    return Answer("rejected", detail=_reason(err, details))


def _reason(err: grpc.RpcError, details: str) -> str:
    """`field: reason` from Vigil's trailing metadata, else the status details."""
    trailers = dict(getattr(err, "trailing_metadata", lambda: ())() or ())
    if "vigil-field" in trailers:
        return f"{trailers['vigil-field']}: {trailers.get('vigil-reason', '')}"
    return details
