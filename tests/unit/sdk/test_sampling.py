"""Client-side sampling: deterministic on the trace id; feedback is never sampled out."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from tests.unit.sdk.conftest import FakeCollector
from vigil_sdk import VigilClient
from vigil_sdk.sampling import sampled_in

TRACES = [uuid.uuid4().hex for _ in range(20_000)]


def test_the_same_trace_gets_the_same_answer() -> None:
    first = [sampled_in(t, 0.3) for t in TRACES]
    assert first == [sampled_in(t, 0.3) for t in TRACES]


def test_the_kept_share_follows_the_rate_and_is_nested() -> None:
    kept = {rate: {t for t in TRACES if sampled_in(t, rate)} for rate in (0.1, 0.5, 0.9)}
    for rate, traces in kept.items():
        assert abs(len(traces) / len(TRACES) - rate) < 0.02
    assert kept[0.1] <= kept[0.5] <= kept[0.9]  # raising the rate keeps the kept ones
    assert all(sampled_in(t, 1.0) for t in TRACES[:100])
    assert not any(sampled_in(t, 0.0) for t in TRACES[:100])


def test_the_client_samples_whole_traces_but_never_feedback(
        make_client: Callable[..., VigilClient], collector: FakeCollector) -> None:
    client = make_client(collector, sample_rate=0.5)
    traces = TRACES[:200]
    for trace_id in traces:
        for _ in range(3):
            client.record(model="m", trace_id=trace_id)
        client.submit_feedback(trace_id, "thumbs", False)
    assert client.flush(5)
    expected = [t for t in traces if sampled_in(t, 0.5)]
    assert [e.trace_id for e in collector.events] == [t for t in expected for _ in range(3)]
    assert len(collector.feedback) == 200
    assert client.stats().dropped == {"sampled_out": 3 * (200 - len(expected))}
