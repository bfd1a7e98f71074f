"""Security on real parts: ingest, enrich and sink (with the read API) as processes, TLS
on every port with a certificate made at test time, keys from VIGIL_API_KEYS and from
the key file written by `vigil keys`, per-key rate limits, small size limits.

Wrong key, revoked key, cross-project read, oversize payload, rate limit: each must be
a clear error, and nothing may be stored or leaked."""

from __future__ import annotations

import gzip
import queue
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from tests.conftest import (
    INTERNAL_TOKEN,
    KEY_A,
    KEY_B,
    PROJECT_A,
    PROJECT_B,
    Broker,
    Stack,
    wait_until,
)
from tests.support.factories import valid_event
from tests.support.tls import self_signed
from vigil_protos.v1 import events_pb2 as pb
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc
from vigil_sdk import VigilClient

pytestmark = pytest.mark.integration
RATE_KEY, RATE_PROJECT = "test-key-rate", "project-r"
RATE_READER = "test-key-rate-reader"  # a second key of the rate-limited project
EVENTS_PER_S, EVENTS_BURST = 5, 100
API_PER_S, API_BURST = 20, 40
MAX_REQUEST_BYTES = 1024 * 1024


# The rate-limit test runs on its own stack whose refill is so slow that no machine is
# slow enough to refill a bucket between two of its requests: 50 events take 100 s to
# come back, one read request 50 s. The exact arithmetic of the bucket (the 41st request
# in the same instant refused, 20 more after 1 s) is tested on a driven clock in
# tests/unit/test_ratelimit.py; here the limits are shown wired to every channel.
SLOW_EVENTS_PER_S, SLOW_API_PER_S = 0.5, 0.02


def _tls_stack(root: Path, broker: Broker, events_per_s: float, api_per_s: float) -> Stack:
    cert, key = self_signed(root)
    return Stack(root, broker.bootstrap, **{
        "VIGIL_TLS_CERT_FILE": str(cert), "VIGIL_TLS_KEY_FILE": str(key),
        "VIGIL_TLS_CA_FILE": str(cert),
        "VIGIL_API_KEYS": f"{KEY_A}={PROJECT_A},{KEY_B}={PROJECT_B},{RATE_KEY}={RATE_PROJECT},"
                          f"{RATE_READER}={RATE_PROJECT}",
        "VIGIL_RATE_LIMIT_EVENTS_PER_S": str(events_per_s),
        "VIGIL_RATE_LIMIT_EVENTS_BURST": str(EVENTS_BURST),
        "VIGIL_RATE_LIMIT_API_REQUESTS_PER_S": str(api_per_s),
        "VIGIL_RATE_LIMIT_API_BURST": str(API_BURST),
        "VIGIL_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
        "VIGIL_LOG_LEVEL": "DEBUG",
    })


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = _tls_stack(tmp_path_factory.mktemp("security"), broker, EVENTS_PER_S, API_PER_S)
    s.start("sink", "enrich", "ingest")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def slow_stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = _tls_stack(tmp_path_factory.mktemp("security-rate"), broker, SLOW_EVENTS_PER_S,
                   SLOW_API_PER_S)
    s.start("sink", "enrich", "ingest")
    yield s
    s.stop()


# --- clients ------------------------------------------------------------------------


def _channel(stack: Stack) -> grpc.Channel:
    assert stack.ca_file is not None
    credentials = grpc.ssl_channel_credentials(Path(stack.ca_file).read_bytes())
    return grpc.secure_channel(stack.target, credentials)


def _call(stack: Stack, method: str, request: Any, key: str | None) -> tuple[grpc.StatusCode,
                                                                                 Any]:
    """One IngestService call over TLS: (status, response or the error)."""
    metadata = (("authorization", f"Bearer {key}"),) if key is not None else ()
    with _channel(stack) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        try:
            return grpc.StatusCode.OK, getattr(stub, method)(request, metadata=metadata,
                                                             timeout=30)
        except grpc.RpcError as err:
            return err.code(), err  # type: ignore[attr-defined]


def _emit(stack: Stack, event: pb.TraceEvent, key: str | None) -> tuple[grpc.StatusCode, Any]:
    return _call(stack, "Emit", ingest_pb2.EmitRequest(event=event), key)


def _http(stack: Stack, method: str, path: str, key: str | None, **kwargs: Any
          ) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.request(method, f"{stack.api_url}{path}", headers=headers, timeout=30,
                         verify=stack.verify, **kwargs)


def _otlp(stack: Stack, body: bytes, key: str | None, **headers: str) -> httpx.Response:
    auth = {"authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.post(f"https://127.0.0.1:{stack.otlp_http_port}/v1/traces", content=body,
                      headers={"content-type": "application/json", **auth, **headers},
                      timeout=30, verify=stack.verify)


def _otlp_body(trace_id: str, spans: int = 1) -> bytes:
    """An OTLP/JSON request of `spans` GenAI chat spans of one trace."""
    import orjson

    now = time.time_ns()
    return orjson.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "otlp-app"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": trace_id, "spanId": f"{i + 1:016x}", "name": "chat",
            "startTimeUnixNano": str(now - 10**9), "endTimeUnixNano": str(now),
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}}],
        } for i in range(spans)]}]}]})


def _vigil(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigil", *args], env=stack.env,
                          capture_output=True, text=True, timeout=60, check=True)


def _create_key(stack: Stack, project: str) -> tuple[str, str]:
    out = _vigil(stack, "keys", "create", "--project", project, "--name", "test").stdout
    key = next(line.split()[-1] for line in out.splitlines() if line.startswith("api key:"))
    key_id = next(line.split()[-1] for line in out.splitlines() if line.startswith("key id:"))
    return key, key_id


def _stored(stack: Stack, trace_id: str, key: str) -> bool:
    return _http(stack, "GET", f"/v1/traces/{trace_id}", key).status_code == 200


def _absent_everywhere(stack: Stack, trace_ids: list[str],
                       keys: tuple[str, ...] = (KEY_A, KEY_B, RATE_KEY)) -> None:
    """Once a later good event is stored, the refused ones would be too: check them."""
    sentinel = valid_event(0)
    assert _emit(stack, sentinel, KEY_A)[0] == grpc.StatusCode.OK
    wait_until(lambda: _stored(stack, sentinel.trace_id, KEY_A), 90, "the sentinel event")
    for trace_id in trace_ids:
        for key in keys:
            assert _http(stack, "GET", f"/v1/traces/{trace_id}", key).status_code == 404


# --- the tests ----------------------------------------------------------------------


def test_a_wrong_key_is_refused_everywhere_and_nothing_is_stored(stack: Stack) -> None:
    event = valid_event(1)
    for key in (None, "wrong-key", f"{KEY_A}x", ""):
        code, err = _emit(stack, event, key)
        assert code == grpc.StatusCode.UNAUTHENTICATED, key
        assert "API key" in err.details()
    code, _ = _call(stack, "EmitBatch", ingest_pb2.EmitBatchRequest(events=[event]), "wrong")
    assert code == grpc.StatusCode.UNAUTHENTICATED
    code, _ = _call(stack, "SubmitFeedback", ingest_pb2.SubmitFeedbackRequest(
        feedback=pb.FeedbackEvent(trace_id=event.trace_id, kind=pb.FEEDBACK_KIND_THUMBS,
                                  value=1)), "wrong")
    assert code == grpc.StatusCode.UNAUTHENTICATED

    otlp_trace = uuid.uuid4().hex
    refused = _otlp(stack, _otlp_body(otlp_trace), "wrong-key")
    assert refused.status_code == 401 and "API key" in refused.json()["message"]

    for path in ("/v1/stats", "/v1/traces", f"/v1/traces/{event.trace_id}"):
        response = _http(stack, "GET", path, "wrong-key")
        assert response.status_code == 401, path
        assert set(response.json()) == {"detail"}
    assert _http(stack, "GET", "/v1/stats", None).status_code == 401
    _absent_everywhere(stack, [event.trace_id, otlp_trace])


def test_a_revoked_key_is_refused_within_seconds_without_a_restart(stack: Stack) -> None:
    key, key_id = _create_key(stack, "project-k")  # the services are already running
    first = valid_event(2)
    wait_until(lambda: _emit(stack, first, key)[0] == grpc.StatusCode.OK, 60,
               "the new key accepted by ingest")
    wait_until(lambda: _stored(stack, first.trace_id, key), 90, "the event stored")
    assert _otlp(stack, _otlp_body(uuid.uuid4().hex), key).status_code == 200

    listed = _vigil(stack, "keys", "list").stdout
    assert key_id in listed and "project-k" in listed and key[len(key_id):] not in listed

    # How soon a revocation is seen (one poll interval, 1 s) is tested on a driven clock in
    # tests/unit/test_keystore.py; here every channel must come to refuse it, with no restart.
    _vigil(stack, "keys", "revoke", key_id)
    later = valid_event(3)
    wait_until(lambda: _emit(stack, later, key)[0] == grpc.StatusCode.UNAUTHENTICATED, 30,
               "ingest refusing the revoked key")
    wait_until(lambda: _http(stack, "GET", "/v1/stats", key).status_code == 401, 30,
               "the read API refusing the revoked key")
    wait_until(lambda: _otlp(stack, _otlp_body(uuid.uuid4().hex), key).status_code == 401, 30,
               "OTLP/HTTP refusing the revoked key")
    assert "revoked" in _vigil(stack, "keys", "list").stdout
    assert _emit(stack, valid_event(4), KEY_A)[0] == grpc.StatusCode.OK  # others unaffected
    _absent_everywhere(stack, [later.trace_id])


def test_a_revoked_key_is_refused_on_a_stream_that_was_already_open(stack: Stack) -> None:
    key, key_id = _create_key(stack, "project-stream")
    reader, _ = _create_key(stack, "project-stream")  # stays valid: reads what was stored
    wait_until(lambda: _emit(stack, valid_event(5), key)[0] == grpc.StatusCode.OK, 60,
               "the new key accepted by ingest")
    messages: queue.Queue[ingest_pb2.EmitBatchRequest | None] = queue.Queue()
    before, after = valid_event(6), valid_event(7)
    with _channel(stack) as channel:
        stream = ingest_pb2_grpc.IngestServiceStub(channel).EmitStream.future(
            iter(messages.get, None), metadata=(("authorization", f"Bearer {key}"),),
            timeout=120)
        messages.put(ingest_pb2.EmitBatchRequest(events=[before]))
        wait_until(lambda: _stored(stack, before.trace_id, key), 90,
                   "the stream's first message stored")
        _vigil(stack, "keys", "revoke", key_id)
        wait_until(lambda: _emit(stack, valid_event(8), key)[0]
                   == grpc.StatusCode.UNAUTHENTICATED, 30, "new calls refusing the key")
        messages.put(ingest_pb2.EmitBatchRequest(events=[after]))  # on the open stream
        messages.put(None)
        with pytest.raises(grpc.RpcError) as refused:
            stream.result(timeout=60)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    assert "revoked while this stream was open" in refused.value.details()  # type: ignore[attr-defined]
    _absent_everywhere(stack, [after.trace_id], keys=(reader,))
    assert _stored(stack, before.trace_id, reader)


def test_a_key_reads_only_its_own_project(stack: Stack) -> None:
    marker = uuid.uuid4().hex
    mine = valid_event(5, app=f"mine-{marker}")
    theirs = valid_event(6, app=f"theirs-{marker}", completion=f"secret of B {marker}")
    assert _emit(stack, mine, KEY_A)[0] == grpc.StatusCode.OK
    assert _emit(stack, theirs, KEY_B)[0] == grpc.StatusCode.OK
    wait_until(lambda: _stored(stack, mine.trace_id, KEY_A)
               and _stored(stack, theirs.trace_id, KEY_B), 90, "both events stored")

    cross = _http(stack, "GET", f"/v1/traces/{theirs.trace_id}", KEY_A)
    assert cross.status_code == 404
    assert marker not in cross.text and "project-b" not in cross.text
    listed = _http(stack, "GET", "/v1/traces", KEY_A, params={"limit": 1000}).json()["traces"]
    assert mine.trace_id in {r["trace_id"] for r in listed}
    assert theirs.trace_id not in {r["trace_id"] for r in listed}
    assert all(not r["app"].startswith("theirs-") for r in listed)
    stats = _http(stack, "GET", "/v1/stats", KEY_A).json()
    assert stats["project_id"] == PROJECT_A
    traffic = _http(stack, "GET", "/v1/timeseries/traffic", KEY_A,
                    params={"group_by": "app", "interval": "day"}).json()
    assert f"theirs-{marker}" not in {p["slice"] for p in traffic["points"]}
    assert f"mine-{marker}" in {p["slice"] for p in traffic["points"]}
    for path in ("/v1/alerts", "/v1/tickets", "/v1/drift/reports"):
        assert _http(stack, "GET", path, KEY_A).status_code == 200, path


def test_oversize_payloads_get_a_clear_error_and_are_not_stored(stack: Stack) -> None:
    huge = [valid_event(i, completion="z" * 200_000) for i in range(6)]  # ~1.2 MB
    code, err = _call(stack, "EmitBatch", ingest_pb2.EmitBatchRequest(events=huge), KEY_A)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in err.details()

    big_event = valid_event(7, completion="y" * 300_000)  # over 256 KiB, under the request
    code, err = _emit(stack, big_event, KEY_A)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "bytes, the limit is 262144" in err.details()

    big_body = _otlp(stack, b"x" * (MAX_REQUEST_BYTES + 1), KEY_A)
    assert big_body.status_code == 413
    assert f"larger than {MAX_REQUEST_BYTES} bytes" in big_body.json()["message"]
    bomb_trace = uuid.uuid4().hex
    body = _otlp_body(bomb_trace)
    bomb = gzip.compress(body + b" " * (MAX_REQUEST_BYTES * 20))  # JSON with trailing space
    assert len(bomb) < MAX_REQUEST_BYTES
    inflated = _otlp(stack, bomb, KEY_A, **{"content-encoding": "gzip"})
    assert inflated.status_code == 413
    assert f"larger than {MAX_REQUEST_BYTES} bytes" in inflated.json()["message"]
    assert _otlp(stack, gzip.compress(_otlp_body(uuid.uuid4().hex)), KEY_A,
                 **{"content-encoding": "gzip"}).status_code == 200  # gzip itself works

    too_long = _http(stack, "GET", "/v1/traces/" + "t" * 200, KEY_A)
    assert too_long.status_code == 422
    _absent_everywhere(stack, [huge[0].trace_id, big_event.trace_id, bomb_trace])


def test_a_key_over_its_rate_is_told_when_to_retry_and_others_are_unaffected(
        slow_stack: Stack) -> None:
    stack = slow_stack
    batch = [valid_event(i) for i in range(EVENTS_BURST)]
    code, response = _call(stack, "EmitBatch", ingest_pb2.EmitBatchRequest(events=batch),
                           RATE_KEY)
    assert code == grpc.StatusCode.OK and response.accepted == EVENTS_BURST
    more = [valid_event(i) for i in range(50)]  # 50 tokens take 100 s at 0.5/s to come back
    code, err = _call(stack, "EmitBatch", ingest_pb2.EmitBatchRequest(events=more), RATE_KEY)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"rate limit of {SLOW_EVENTS_PER_S:g} events/s" in err.details()
    assert "retry in" in err.details()
    retry_ms = int(dict(err.trailing_metadata())["vigil-retry-after-ms"])
    assert 1_000 < retry_ms <= 100_001
    limited_otlp = _otlp(stack, _otlp_body(uuid.uuid4().hex), RATE_KEY)
    assert limited_otlp.status_code == 429 and int(limited_otlp.headers["retry-after"]) >= 1
    assert _emit(stack, valid_event(9), KEY_B)[0] == grpc.StatusCode.OK

    # The burst passes; past it the key is refused however slowly the requests come (one
    # token returns every 50 s), so the count of passes is exact within one refill.
    answers = [_http(stack, "GET", "/v1/traces", RATE_KEY, params={"limit": 1}).status_code
               for _ in range(API_BURST + 20)]
    assert answers[:API_BURST] == [200] * API_BURST, answers
    assert answers.count(429) >= 19, answers
    limited = _http(stack, "GET", "/v1/traces", RATE_KEY, params={"limit": 1})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "rate limit" in limited.json()["detail"]
    assert _http(stack, "GET", "/v1/stats", KEY_B).status_code == 200
    # its project's other key has its own bucket: it reads, and the refused batch is absent
    _absent_everywhere(stack, [more[0].trace_id], keys=(KEY_A, KEY_B, RATE_READER))


def test_tls_is_required_and_the_sdk_speaks_it(stack: Stack, tmp_path: Path) -> None:
    with grpc.insecure_channel(stack.target) as channel, pytest.raises(grpc.RpcError) as plain:
        ingest_pb2_grpc.IngestServiceStub(channel).Emit(
            ingest_pb2.EmitRequest(event=valid_event(10)),
            metadata=(("authorization", f"Bearer {KEY_A}"),), timeout=5)
    assert plain.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    with (grpc.secure_channel(stack.target, grpc.ssl_channel_credentials()) as channel,
          pytest.raises(grpc.RpcError)):  # the system roots do not trust this certificate
        ingest_pb2_grpc.IngestServiceStub(channel).Emit(
            ingest_pb2.EmitRequest(event=valid_event(11)),
            metadata=(("authorization", f"Bearer {KEY_A}"),), timeout=5)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{stack.api_port}/health", timeout=5)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"https://127.0.0.1:{stack.api_port}/health", timeout=5)  # unverified
    assert _http(stack, "GET", "/health", None).status_code == 200

    client = VigilClient(KEY_A, f"https://{stack.target}", app="tls-app",
                         root_certificates=stack.ca_file, spill_dir=tmp_path / "spill")
    trace_id = uuid.uuid4().hex
    client.record(model="gpt-4o-mini", provider="openai", prompt="hi", completion="hello",
                  trace_id=trace_id, input_tokens=1, output_tokens=1)
    assert client.flush(30)
    assert client.stats().sent == 1
    client.close()
    wait_until(lambda: _stored(stack, trace_id, KEY_A), 90, "the SDK's event over TLS")


def test_secrets_never_reach_the_logs(stack: Stack) -> None:
    file_key, _ = _create_key(stack, "project-log")
    wrong = f"wrong-{uuid.uuid4().hex}"
    for key in (wrong, KEY_A, file_key):
        _emit(stack, valid_event(12), key)
        _otlp(stack, _otlp_body(uuid.uuid4().hex), key)
        _http(stack, "GET", "/v1/stats", key)
    for token in (INTERNAL_TOKEN, wrong):
        httpx.get(f"{stack.api_url}/internal/tickets/states", timeout=30, verify=stack.verify,
                  headers={"authorization": f"Bearer {token}"})
    secrets = [KEY_A, KEY_B, RATE_KEY, INTERNAL_TOKEN, wrong, file_key,
               Path(stack.env["VIGIL_TLS_KEY_FILE"]).read_text().splitlines()[1]]
    logs = {name: service.log.read_text(errors="replace")
            for name, service in stack.services.items()}
    for name in ("ingest", "sink"):  # the logs read are the services' own, at DEBUG
        assert '"API key file read"' in logs[name], name
    assert "read API listening" in logs["sink"] and "ingest listening" in logs["ingest"]
    logs["vigil config"] = _vigil(stack, "config").stdout
    leaks = [(name, f"secret #{i}") for name, text in logs.items()
             for i, secret in enumerate(secrets) if secret in text]
    assert leaks == []  # names the log and the secret's index, never the secret
