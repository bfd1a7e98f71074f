"""OTLP spans/s accepted by Vigil (acknowledged = in Kafka), over OTLP/gRPC and OTLP/HTTP.

Builds ExportTraceServiceRequests of 512 GenAI spans (the OpenTelemetry batch
span processor's default batch) and sends them from concurrent clients;
reports accepted spans/s per transport, then waits until all are stored.

    python -m bench.otlp [--spans 100000] [--clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from bench.stack import KEY, RESULTS, bench_stack

AUTH = f"Bearer {KEY}"


def request(first: int, n: int) -> ExportTraceServiceRequest:
    now = time.time_ns()

    def kv(k: str, v: object) -> KeyValue:
        value = AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=str(v))
        return KeyValue(key=k, value=value)

    spans = []
    for i in range(first, first + n):
        spans.append(Span(
            trace_id=i.to_bytes(16, "big"), span_id=(i + 1).to_bytes(8, "big"), name="chat",
            start_time_unix_nano=now - 900_000_000, end_time_unix_nano=now,
            attributes=[kv("gen_ai.provider.name", "openai"),
                        kv("gen_ai.request.model", "gpt-4o-mini"),
                        kv("gen_ai.usage.input_tokens", 800), kv("gen_ai.usage.output_tokens", 120),
                        kv("gen_ai.input.messages", json.dumps([{"role": "user", "parts": [
                            {"type": "text", "content": "Summarise this ticket " * 20}]}])),
                        kv("gen_ai.output.messages", json.dumps([{"role": "assistant", "parts": [
                            {"type": "text", "content": "The customer wants a refund. " * 8}]}]))]))
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource={"attributes": [kv("service.name", "otlp-bench")]},
        scope_spans=[ScopeSpans(spans=spans)])])


async def over_grpc(target: str, requests: list[ExportTraceServiceRequest], clients: int) -> float:
    async def client(part: list[ExportTraceServiceRequest]) -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = trace_service_pb2_grpc.TraceServiceStub(channel)
            for r in part:
                await stub.Export(r, metadata=[("authorization", AUTH)], timeout=60)

    started = time.perf_counter()
    await asyncio.gather(*(client(requests[i::clients]) for i in range(clients)))
    return time.perf_counter() - started


async def over_http(url: str, requests: list[ExportTraceServiceRequest], clients: int) -> float:
    bodies = [r.SerializeToString() for r in requests]

    async def client(part: list[bytes]) -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            for body in part:
                response = await http.post(url, content=body, headers={
                    "authorization": AUTH, "content-type": "application/x-protobuf"})
                response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(client(bodies[i::clients]) for i in range(clients)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=100_000, help="spans per transport")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    per = 512
    grpc_requests = [request(i, per) for i in range(0, args.spans, per)]
    http_requests = [request(10**9 + i, per) for i in range(0, args.spans, per)]
    total = per * len(grpc_requests)
    with bench_stack() as stack:
        grpc_s = asyncio.run(over_grpc(stack.ingest, grpc_requests, args.clients))
        http_s = asyncio.run(over_http(f"http://{stack.otlp_http}/v1/traces", http_requests,
                                       args.clients))
        stack.wait_stored(2 * total)
        result = {"machine": f"{os.cpu_count()} cores", "spans_per_transport": total,
                  "spans_per_request": per, "clients": args.clients,
                  "otlp_grpc_accepted_spans_per_s": round(total / grpc_s),
                  "otlp_http_accepted_spans_per_s": round(total / http_s),
                  "stored_rows": stack.stored()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "otlp.json").write_text(json.dumps(result, indent=2))
    for k, v in result.items():
        print(f"{k:<32}  {v}")


if __name__ == "__main__":
    main()
