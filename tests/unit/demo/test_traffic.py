"""The pure part of the demo traffic generator: valid, deterministic, realistic mixes."""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from vigil.demo.catalog import MODELS
from vigil.demo.world import DemoWorld
from vigil_protos.v1 import events_pb2

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
N = 2000

HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")
EMAIL = re.compile(r"[\w.]+@[\w-]+\.\w+")
PHONE = re.compile(r"\+1 \(\d{3}\) 555-\d{4}")
API_KEY = re.compile(r"sk-[\w-]{20,}")
CARD = re.compile(r"\b(?:\d{4} ){3}\d{4}\b")


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        doubled = d * 2 if i % 2 == 1 else d
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def pii_kinds(text: str) -> set[str]:
    kinds = {
        name
        for name, rx in (("email", EMAIL), ("phone", PHONE), ("key", API_KEY))
        if rx.search(text)
    }
    if any(luhn_ok(m) for m in CARD.findall(text)):
        kinds.add("card")
    return kinds


@pytest.fixture(scope="module")
def world_and_events() -> tuple[DemoWorld, list[events_pb2.TraceEvent]]:
    world = DemoWorld(7)
    return world, world.next_events(N, NOW)


@pytest.fixture(scope="module")
def events(
    world_and_events: tuple[DemoWorld, list[events_pb2.TraceEvent]],
) -> list[events_pb2.TraceEvent]:
    return world_and_events[1]


Predicate = Callable[[events_pb2.TraceEvent], bool]


def share(events: list[events_pb2.TraceEvent], predicate: Predicate) -> float:
    return sum(1 for e in events if predicate(e)) / len(events)


def assert_valid(event: events_pb2.TraceEvent, now: datetime) -> None:
    assert uuid.UUID(event.event_id).version == 4
    assert HEX32.fullmatch(event.trace_id)
    assert HEX16.fullmatch(event.span_id)
    assert event.app and event.model and event.provider and event.environment
    assert event.session_id and event.user_id
    start = event.start_time.ToDatetime(tzinfo=UTC)
    end = event.end_time.ToDatetime(tzinfo=UTC)
    assert start <= end
    assert now - timedelta(minutes=1) <= end <= now
    assert event.prompt[0].role == "system"
    assert event.prompt[-1].role == "user" and event.prompt[-1].content
    assert event.prompt_template_id and event.prompt_template_version.startswith("v")
    assert event.params.HasField("temperature") and event.params.max_tokens > 0
    assert set(event.attributes) >= {"region", "sdk"}
    if event.status == events_pb2.TRACE_STATUS_ERROR:
        assert event.error_type and event.error_message and not event.completion
        assert not event.HasField("input_tokens")
    else:
        assert event.status == events_pb2.TRACE_STATUS_OK
        assert event.completion and event.finish_reason and not event.error_type
    if event.HasField("input_tokens"):
        assert 50 <= event.input_tokens <= 4000
        assert 10 <= event.output_tokens <= 1500
        assert event.cached_input_tokens <= event.input_tokens


def test_every_event_is_valid(events: list[events_pb2.TraceEvent]) -> None:
    assert len(events) == N
    for event in events:
        assert_valid(event, NOW)
    assert len({e.event_id for e in events}) == N
    assert len({e.trace_id for e in events}) == N


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("n", [0, 1, 7, 150])
def test_small_and_repeated_calls_stay_valid(seed: int, n: int) -> None:
    world = DemoWorld(seed)
    for step in range(5):
        now = NOW + timedelta(seconds=step * 0.15)
        batch = world.next_events(n, now)
        assert len(batch) == n
        for event in batch:
            assert_valid(event, now)
        ends = [e.end_time.ToDatetime() for e in batch]
        assert ends == sorted(ends)


def test_same_seed_same_events_other_seed_other_events() -> None:
    def run(seed: int) -> list[bytes]:
        world = DemoWorld(seed)
        events = world.next_events(300, NOW) + world.next_events(50, NOW + timedelta(seconds=1))
        feedback = world.feedback_for(events, NOW)
        return [m.SerializeToString(deterministic=True) for m in [*events, *feedback]]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_mix_of_apps_models_providers_and_environments(events: list[events_pb2.TraceEvent]) -> None:
    apps = Counter(e.app for e in events)
    assert set(apps) == {"support-bot", "code-assistant", "doc-summarizer", "sales-email-writer"}
    assert min(apps.values()) > 0.05 * N
    assert {e.model for e in events} == set(MODELS)
    assert {e.provider for e in events} == {"openai", "anthropic", "google", "acme"}
    assert {e.provider for e in events if e.model == "acme-support-ft-v3"} == {"acme"}
    envs = Counter(e.environment for e in events)
    assert set(envs) == {"production", "staging"}
    assert 0.7 < envs["production"] / N < 0.95
    assert len({e.user_id for e in events}) > 150
    versions = {(e.prompt_template_id, e.prompt_template_version) for e in events}
    per_template = Counter(template for template, _ in versions)
    assert all(2 <= count <= 3 for count in per_template.values())
    assert any(e.params.response_format == "json_object" for e in events)


def test_error_and_unset_token_rates(events: list[events_pb2.TraceEvent]) -> None:
    errors = [e for e in events if e.status == events_pb2.TRACE_STATUS_ERROR]
    assert 0.015 < len(errors) / N < 0.05
    assert {"RateLimitError", "Timeout"} <= {e.error_type for e in errors}
    assert 0.06 < share(events, lambda e: not e.HasField("input_tokens")) < 0.14
    assert 0.02 < share(events, lambda e: e.HasField("cached_input_tokens")) < 0.5


def test_latencies_are_plausible(events: list[events_pb2.TraceEvent]) -> None:
    def seconds(e: events_pb2.TraceEvent) -> float:
        return (e.end_time.ToNanoseconds() - e.start_time.ToNanoseconds()) / 1e9

    ok = sorted(seconds(e) for e in events if e.status == events_pb2.TRACE_STATUS_OK)
    assert ok[0] >= 0.3 and ok[-1] <= 20.0
    assert 0.5 < ok[len(ok) // 2] < 5.0


def test_a_few_prompts_carry_pii(events: list[events_pb2.TraceEvent]) -> None:
    kinds = [pii_kinds(e.prompt[-1].content) for e in events]
    with_pii = sum(1 for k in kinds if k) / N
    assert 0.01 < with_pii < 0.06
    assert set().union(*kinds) == {"email", "phone", "key", "card"}


def test_sessions_reuse_ids_with_growing_prompts(events: list[events_pb2.TraceEvent]) -> None:
    by_session: dict[str, list[events_pb2.TraceEvent]] = defaultdict(list)
    for event in events:
        by_session[event.session_id].append(event)
    multi_turn = [turns for turns in by_session.values() if len(turns) > 1]
    assert len(multi_turn) > 50
    assert max(len(turns) for turns in by_session.values()) <= 8
    for turns in multi_turn:
        assert len({(t.user_id, t.app, t.model, t.environment) for t in turns}) == 1
        for before, after in itertools.pairwise(turns):
            assert before.status == events_pb2.TRACE_STATUS_OK
            assert list(after.prompt[: len(before.prompt)]) == list(before.prompt)
            assert after.prompt[len(before.prompt)].content == before.completion
            assert len(after.prompt) == len(before.prompt) + 2


def test_feedback_references_existing_traces(
    world_and_events: tuple[DemoWorld, list[events_pb2.TraceEvent]],
) -> None:
    world, events = world_and_events
    feedback = world.feedback_for(events, NOW)
    traces = {e.trace_id: e for e in events}
    assert 0.025 < len(feedback) / N < 0.08
    assert len({f.feedback_id for f in feedback}) == len(feedback)
    for item in feedback:
        assert item.trace_id in traces
        assert item.user_id == traces[item.trace_id].user_id
        assert item.time.ToDatetime(tzinfo=UTC) <= NOW
        if item.kind == events_pb2.FEEDBACK_KIND_THUMBS:
            assert item.value in (0.0, 1.0)
        elif item.kind == events_pb2.FEEDBACK_KIND_SCORE:
            assert 0.0 <= item.value <= 1.0
        else:
            assert item.kind == events_pb2.FEEDBACK_KIND_TEXT and item.comment
    thumbs = [f.value for f in feedback if f.kind == events_pb2.FEEDBACK_KIND_THUMBS]
    assert sum(thumbs) / len(thumbs) > 0.6


def test_errors_and_worse_version_get_more_thumbs_down() -> None:
    world = DemoWorld(3)
    events = [e for _ in range(10) for e in world.next_events(2000, NOW)]
    feedback = world.feedback_for(events, NOW)
    traces = {e.trace_id: e for e in events}

    def up_rate(predicate: Predicate) -> float:
        values = [
            f.value
            for f in feedback
            if f.kind == events_pb2.FEEDBACK_KIND_THUMBS and predicate(traces[f.trace_id])
        ]
        assert values
        return sum(values) / len(values)

    good = up_rate(
        lambda e: (
            e.status == events_pb2.TRACE_STATUS_OK
            and (e.prompt_template_id, e.prompt_template_version) != ("support-answer", "v3")
        )
    )
    worse = up_rate(
        lambda e: (e.prompt_template_id, e.prompt_template_version) == ("support-answer", "v3")
    )
    failed = up_rate(lambda e: e.status == events_pb2.TRACE_STATUS_ERROR)
    assert failed < worse < good
