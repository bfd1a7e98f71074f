"""OTLP log records -> call_logs and scores rows, over records recorded from the real
libraries (openai-v2 2.4b0 in its default event mode, openlit 1.45.0's
inference.operation.details) and the evaluation / unrelated records of the conventions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

from tests.support.otlp_recordings import load
from tests.unit.ingest.test_otlp_mapping import _kvs
from vigil.core.conversation import conversation, with_logs
from vigil.ingest.otlp_logs import map_logs

NOW = datetime(2026, 12, 3, tzinfo=UTC)
TRACE, SPAN = bytes.fromhex("0af7651916cd43dd8448eb211c80319c"), bytes.fromhex("b7ad6b7169203331")
TOOL_CALL = {"id": "call_w1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


def _request(*records: LogRecord) -> ExportLogsServiceRequest:
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
        resource={"attributes": _kvs({"service.name": "svc"})},
        scope_logs=[ScopeLogs(log_records=list(records))])])


def _evaluation(**attrs: Any) -> LogRecord:
    return LogRecord(trace_id=TRACE, span_id=SPAN, time_unix_nano=1_764_720_000_000_000_000,
                     event_name="gen_ai.evaluation.result", attributes=_kvs(attrs))


def _read(rows: list[dict[str, Any]], event_id: str) -> list[dict[str, Any]]:
    """The conversation the read API shows for a call whose span had no messages."""
    call = {"event_id": event_id, "prompt": "[]", "completion": "",
            "completion_tool_calls": "[]"}
    merged = with_logs(call, list(reversed(rows)))  # the order of arrival does not matter
    return conversation(merged["prompt"], merged["completion"],
                        merged["completion_tool_calls"])


def test_openai_v2_event_records_fill_each_call() -> None:
    mapped = map_logs(load("openai-v2-eventlogs", "logs"), 64, NOW)
    assert (mapped.dropped, mapped.rejected, mapped.scores) == (0, [], [])
    calls = sorted({r["event_id"] for r in mapped.call_logs},
                   key=lambda e: min(r["seq"] for r in mapped.call_logs if r["event_id"] == e))
    first, second = (_read(mapped.call_logs, e) for e in calls)
    assert first == [{"role": "system", "content": "You are a weather bot."},
                     {"role": "user", "content": "Weather in Paris?"},
                     {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]}]
    assert second[2:] == [
        {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]},
        {"role": "tool", "content": '{"temp_c": 21, "sky": "sunny"}', "tool_call_id": "call_w1"},
        {"role": "assistant", "content": "It is sunny in Paris, 21 C."}]
    finish = {r["event_id"]: r["finish_reason"] for r in mapped.call_logs if r["finish_reason"]}
    assert [finish[e] for e in calls] == ["tool_calls", "stop"]


def test_openlit_details_records_carry_the_whole_call() -> None:
    mapped = map_logs(load("openlit", "logs"), 64, NOW)
    assert len(mapped.call_logs) == 2 and mapped.dropped == 0
    first = _read(mapped.call_logs[:1], mapped.call_logs[0]["event_id"])
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert first[-1]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_a_span_with_its_own_messages_keeps_them() -> None:
    mapped = map_logs(load("openlit", "logs"), 64, NOW)
    own = {"event_id": mapped.call_logs[0]["event_id"], "completion": "mine",
           "prompt": json.dumps([{"role": "user", "content": "q"}]), "completion_tool_calls": "[]"}
    assert with_logs(own, mapped.call_logs) == own


def test_an_evaluation_result_is_an_app_score_on_the_call() -> None:
    mapped = map_logs(_request(_evaluation(**{
        "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.0,
        "gen_ai.evaluation.score.label": "irrelevant",
        "gen_ai.evaluation.explanation": "talks about the weather",
        "gen_ai.response.model": "gpt-4o-mini"})), 64, NOW)
    [score] = mapped.scores
    assert (score["evaluator"], score["score"], score["label"], score["rationale"]) == (
        "relevance", 0.0, "irrelevant", "talks about the weather")
    assert (score["sample_reason"], score["evaluator_version"]) == ("app", "app")
    assert score["event_id"] == f"{TRACE.hex()}-{SPAN.hex()}" and score["model"] == "gpt-4o-mini"
    assert score["app"] == "svc" and mapped.call_logs == []


def test_a_label_only_evaluation_has_no_score_and_a_nameless_one_is_rejected() -> None:
    mapped = map_logs(_request(_evaluation(**{"gen_ai.evaluation.name": "tone",
                                              "gen_ai.evaluation.score.label": "rude"}),
                               _evaluation(**{"gen_ai.evaluation.score.value": 1.0})), 64, NOW)
    assert [(s["evaluator"], s["score"], s["label"]) for s in mapped.scores] == [
        ("tone", None, "rude")]
    assert mapped.rejected == ["log record 1: gen_ai.evaluation.name is required"]


def test_application_logs_and_records_without_a_span_are_dropped() -> None:
    plain = LogRecord(trace_id=TRACE, span_id=SPAN, body=AnyValue(string_value="GET /health"))
    orphan = LogRecord(event_name="gen_ai.user.message",
                       body=AnyValue(kvlist_value={"values": [KeyValue(
                           key="content", value=AnyValue(string_value="hi"))]}))
    unknown = LogRecord(trace_id=TRACE, span_id=SPAN, event_name="gen_ai.something.new")
    mapped = map_logs(_request(plain, orphan, unknown), 64, NOW)
    assert (mapped.dropped, mapped.call_logs, mapped.scores) == (3, [], [])


def test_a_retried_record_has_the_same_uid_and_masking_applies() -> None:
    request = load("openai-v2-eventlogs", "logs")
    masked = map_logs(request, 64, NOW, mask=lambda s: s.replace("Paris", "[CITY]"))
    again = map_logs(request, 64, NOW)
    assert [r["log_uid"] for r in masked.call_logs] == [r["log_uid"] for r in again.call_logs]
    assert len({r["log_uid"] for r in again.call_logs}) == len(again.call_logs)
    assert "Paris" not in json.dumps(masked.call_logs) and "Paris" in json.dumps(again.call_logs)


def test_json_nested_too_deeply_in_a_record_is_rejected() -> None:
    deep = "[" * 200 + "]" * 200
    record = LogRecord(trace_id=TRACE, span_id=SPAN, event_name="gen_ai.choice",
                       body=AnyValue(kvlist_value={"values": [KeyValue(
                           key="message", value=AnyValue(string_value=deep))]}))
    mapped = map_logs(_request(record), 64, NOW)
    assert mapped.rejected == ["log record 0: gen_ai.choice message nests JSON deeper than "
                               "64 levels"]


def test_messages_in_log_records_are_masked_like_enrich_masks_a_call() -> None:
    from vigil.ingest.otlp_logs_receiver import masker
    from vigil.settings import Settings

    record = LogRecord(trace_id=TRACE, span_id=SPAN, event_name="gen_ai.user.message",
                       body=AnyValue(kvlist_value={"values": [KeyValue(
                           key="content", value=AnyValue(string_value="mail me: a@b.example"))]}))
    [row] = map_logs(_request(record), 64, NOW, masker(Settings())).call_logs
    assert json.loads(row["prompt"])[0]["content"] == "mail me: [EMAIL]"
    [plain] = map_logs(_request(record), 64, NOW, masker(Settings(pii_masking=False))).call_logs
    assert "a@b.example" in plain["prompt"]
