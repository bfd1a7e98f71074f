"""Fetching a prompt from the PromptService (on the collector's port) over gRPC.

:meth:`GrpcPromptFetcher.fetch` answers a :class:`~vigil_sdk.prompt_cache.Delivery` or
raises :class:`PromptFetchError` with the status (NOT_FOUND: no such prompt or label;
UNAVAILABLE or DEADLINE_EXCEEDED: the server is away or slow; UNAUTHENTICATED: the key).
The cache catches it; nothing of it reaches the app.
"""

from __future__ import annotations

import grpc

from vigil_protos.v1 import prompts_pb2, prompts_pb2_grpc
from vigil_sdk.prompt_cache import Delivery, RolloutInfo
from vigil_sdk.prompts import PromptContent
from vigil_sdk.transport import open_channel


class PromptFetchError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


class GrpcPromptFetcher:
    def __init__(self, endpoint: str, api_key: str, *, tls: bool, timeout_s: float,
                 root_certificates: bytes | None = None) -> None:
        self._channel = open_channel(endpoint, tls, root_certificates)
        self._stub = prompts_pb2_grpc.PromptServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._metadata = (("authorization", f"Bearer {api_key}"),)
        self._timeout_s = timeout_s

    def fetch(self, name: str, label: str, wait_for_ready: bool = False) -> Delivery:
        """The server's answer within the timeout; `wait_for_ready` waits (within it) for
        a channel that is reconnecting instead of failing at once."""
        try:
            answer = self._stub.GetPrompt(prompts_pb2.GetPromptRequest(name=name, label=label),
                                          metadata=self._metadata, timeout=self._timeout_s,
                                          wait_for_ready=wait_for_ready)
        except grpc.RpcError as err:
            code = getattr(err, "code", lambda: None)()
            detail = str(getattr(err, "details", lambda: "")() or "")
            raise PromptFetchError(code.name if code else "UNKNOWN", detail) from None
        return delivery(answer)

    def close(self) -> None:
        self._channel.close()


def delivery(answer: prompts_pb2.GetPromptResponse) -> Delivery:
    rollout = None
    if answer.HasField("rollout"):
        r = answer.rollout
        rollout = RolloutInfo(r.rollout_id, PromptContent.from_proto(r.candidate), r.percent,
                              r.split_by,
                              {k: tuple(v.values) for k, v in sorted(r.segment.items())})
    return Delivery(answer.label, PromptContent.from_proto(answer.prompt), rollout)
