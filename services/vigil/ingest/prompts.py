"""The gRPC PromptService on the ingest port: the registry's prompts for apps.

Ingest does not open the store: like every reader it asks the read API, here
`GET /v1/prompts/{name}/delivery?label=L` with the caller's own key, so the project, the
key's scope and the registry's rules are the API's. One answer holds the label's version
and the running rollout with its candidate, turned into a `GetPromptResponse`.

Errors: UNAUTHENTICATED (checked here first, and what the API says of the key),
INVALID_ARGUMENT (a malformed name or label; permanent), NOT_FOUND (no such prompt or
label, with the API's reason), RESOURCE_EXHAUSTED (the key is over its request rate),
UNAVAILABLE (the read API did not answer within VIGIL_PROMPT_FETCH_TIMEOUT_S or failed:
transient, the SDK serves what it cached).
"""

from __future__ import annotations

import re
from typing import Any

import grpc
import httpx
import orjson

from vigil.access.keyring import KeyRing
from vigil.core.prompts import NAME_PATTERN
from vigil.ingest.guard import authenticate
from vigil.runtime.logs import get_logger
from vigil.settings import Settings
from vigil_protos.v1 import events_pb2, prompts_pb2, prompts_pb2_grpc

log = get_logger(__name__)
PROMPT_SERVICE_NAME = prompts_pb2.DESCRIPTOR.services_by_name["PromptService"].full_name
_NAME = re.compile(NAME_PATTERN)
_STATUS = {401: grpc.StatusCode.UNAUTHENTICATED, 403: grpc.StatusCode.PERMISSION_DENIED,
           404: grpc.StatusCode.NOT_FOUND, 422: grpc.StatusCode.INVALID_ARGUMENT,
           429: grpc.StatusCode.RESOURCE_EXHAUSTED}


class PromptServicer(prompts_pb2_grpc.PromptServiceServicer):
    def __init__(self, keyring: KeyRing, api: httpx.AsyncClient) -> None:
        self._keyring = keyring
        self._api = api

    async def GetPrompt(self, request: prompts_pb2.GetPromptRequest,
                        context: grpc.aio.ServicerContext) -> prompts_pb2.GetPromptResponse:
        caller = await authenticate(self._keyring, context)
        label = request.label or "production"
        for what, value in (("name", request.name), ("label", label)):
            if not _NAME.match(value):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, (
                    f"{what} {value!r:.80} is not 1-128 letters, digits, '.', '_' or '-'"))
        metadata = dict(context.invocation_metadata() or ())
        try:
            answer = await self._api.get(
                f"/v1/prompts/{request.name}/delivery", params={"label": label},
                headers={"authorization": str(metadata.get("authorization", ""))})
        except httpx.HTTPError as exc:
            log.warning("prompt registry unreachable", error=str(exc)[:300],
                        project=caller.project)
            await context.abort(grpc.StatusCode.UNAVAILABLE,
                                f"the prompt registry did not answer ({type(exc).__name__}); "
                                "retry, and serve the cached version meanwhile")
        if answer.status_code != 200:
            detail = _detail(answer)
            code = _STATUS.get(answer.status_code, grpc.StatusCode.UNAVAILABLE)
            await context.abort(code, detail)
        return delivery_response(answer.json())


def delivery_response(doc: dict[str, Any]) -> prompts_pb2.GetPromptResponse:
    """The read API's delivery answer as the gRPC response."""
    response = prompts_pb2.GetPromptResponse(label=doc["label"],
                                             prompt=_version(doc["prompt"]))
    rollout = doc.get("rollout")
    if rollout:
        response.rollout.CopyFrom(prompts_pb2.Rollout(
            rollout_id=rollout["rollout_id"], candidate=_version(rollout["candidate"]),
            percent=rollout["percent"], split_by=rollout["by"],
            guards=rollout["guards"], control_version=rollout["control_version"],
            segment={k: prompts_pb2.SegmentValues(values=v)
                     for k, v in rollout["segment"].items()}))
    return response


def _version(v: dict[str, Any]) -> prompts_pb2.PromptVersion:
    return prompts_pb2.PromptVersion(
        name=v["name"], version=v["version"], kind=v["kind"],
        messages=[events_pb2.Message(role=m["role"], content=m["content"])
                  for m in v["messages"]],
        template=v["template"] or "", model=v["model"],
        params_json=orjson.dumps(v["params"]).decode(), content_hash=v["content_hash"])


def _detail(answer: httpx.Response) -> str:
    try:
        detail = answer.json()["detail"]
    except (ValueError, KeyError, TypeError):
        detail = answer.text[:300]
    return str(detail)[:500] or f"the prompt registry answered {answer.status_code}"


def registry_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client ingest asks the read API with."""
    return httpx.AsyncClient(base_url=settings.api_url, verify=settings.api_verify,
                             timeout=settings.prompt_fetch_timeout_s,
                             limits=httpx.Limits(max_keepalive_connections=16))


def add_prompt_service(server: grpc.aio.Server, keyring: KeyRing, api: httpx.AsyncClient
                       ) -> None:
    prompts_pb2_grpc.add_PromptServiceServicer_to_server(PromptServicer(keyring, api), server)
