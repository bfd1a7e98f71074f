"""Re-record the OTLP payloads of this folder (not a test; needs its own virtualenv).

    python3 -m venv /tmp/rec && /tmp/rec/bin/pip install openlit==1.45.0 \
        opentelemetry-instrumentation-openai-v2==2.4b0 \
        openinference-instrumentation-openai==0.1.66 opentelemetry-instrumentation-openai==0.62.4 \
        opentelemetry-sdk==1.45.1 opentelemetry-instrumentation==0.66b1 openai==2.54.0 \
        opentelemetry-util-genai==0.4b0 opentelemetry-exporter-otlp-proto-http==1.45.1
    /tmp/rec/bin/python record.py LIBRARY OUTDIR

LIBRARY is openlit, openai-v2 (span-attribute mode), openai-v2-eventlogs (the default
mode: messages as log records), openinference or openllmetry; one per process (they all
patch the openai client). A real openai client talks to a loopback OpenAI-compatible
server that answers the first question with a tool call and the tool's result with text;
the spans (and log records) are written as protobuf JSON: OUTDIR/LIBRARY.traces.json,
OUTDIR/LIBRARY.logs.json.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]


class Model(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if body.get("tools") and body["messages"][-1]["role"] == "user":
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_w1", "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": "It is sunny in Paris, 21 C."}
            finish = "stop"
        data = json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1764000000,
            "model": body["model"], "choices": [{"index": 0, "message": message,
                                                 "finish_reason": finish}],
            "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def instrument(library: str, tracer_provider: Any, logger_provider: Any) -> None:
    if library == "openlit":
        import openlit
        openlit.init(disable_metrics=True, disable_batch=True, capture_message_content=True,
                     application_name="openlit-app")
    elif library.startswith("openai-v2"):
        if library == "openai-v2":
            os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
            os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
        else:
            os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider,
                                        logger_provider=logger_provider)
    elif library == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor as OI
        OI().instrument(tracer_provider=tracer_provider)
    elif library == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as LLMetry
        LLMetry().instrument(tracer_provider=tracer_provider)
    else:
        raise SystemExit(f"unknown library {library}")


def converse(base_url: str) -> None:
    import openai
    client = openai.OpenAI(base_url=base_url, api_key="k")
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(  # type: ignore[call-overload]
        model="gpt-4o-mini", messages=messages, tools=TOOLS, temperature=0, seed=0,
        max_tokens=50, top_p=0.5)
    call = first.choices[0].message.tool_calls[0]
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": call.id, "type": "function",
            "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21, "sky": "sunny"}'}]
    client.chat.completions.create(  # type: ignore[call-overload]
        model="gpt-4o-mini", messages=messages, tools=TOOLS, temperature=0, seed=0,
        max_tokens=50)


def main(library: str, outdir: str) -> None:
    from opentelemetry import trace
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    server = ThreadingHTTPServer(("127.0.0.1", 0), Model)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    resource = Resource.create({"service.name": f"{library}-app"})
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(tracer_provider)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    set_logger_provider(logger_provider)
    instrument(library, tracer_provider, logger_provider)
    converse(f"http://127.0.0.1:{server.server_port}/v1")
    tracer_provider.force_flush()
    logger_provider.force_flush()
    with open(f"{outdir}/{library}.traces.json", "w") as f:
        f.write(json_format.MessageToJson(encode_spans(spans.get_finished_spans())))
    if records := logs.get_finished_logs():
        with open(f"{outdir}/{library}.logs.json", "w") as f:
            f.write(json_format.MessageToJson(encode_logs(records)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
