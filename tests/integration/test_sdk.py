"""The Python SDK against the real services: outages bridged by the spill directory,
a full queue dropping instead of blocking, and a normal run stored completely."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KEY_A, KEY_B, Broker, Stack, free_port, wait_until
from tests.support.chaos import chaos, record_fault
from vigil_sdk import VigilClient

pytestmark = pytest.mark.integration
MODELS = [("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-haiku"),
          ("google", "gemini-1.5-flash")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    """Sink and enrich; each test starts or stops ingest (the collector) itself."""
    s = Stack(tmp_path_factory.mktemp("sdk"), broker.bootstrap, VIGIL_SINK_BATCH_SECONDS="0.2")
    s.start("sink", "enrich")
    yield s
    s.stop()


def ingest_running(stack: Stack) -> bool:
    proc = stack.service("ingest").proc
    return proc is not None and proc.poll() is None


def record_calls(client: VigilClient, n: int, tag: str, pause_s: float = 0.0
                 ) -> list[str | None]:
    ids = []
    for i in range(n):
        if pause_s:
            time.sleep(pause_s)  # the app's own pace, not a wait for a result
        provider, model = MODELS[i % len(MODELS)]
        end = time.time()
        ids.append(client.record(
            model=model, provider=provider, start=end - 0.2 - (i % 10) / 10, end=end,
            prompt=[{"role": "system", "content": "You are a support assistant."},
                    {"role": "user", "content": f"{tag}: where is order {i}?"}],
            completion=f"Order {i} ships tomorrow.", input_tokens=40 + i % 7,
            output_tokens=8, cached_input_tokens=i % 5, finish_reason="stop",
            session_id=f"s{i % 13}", user_id=f"u{i % 29}", prompt_template_id="order-status",
            prompt_template_version=f"v{i % 2 + 1}", params={"temperature": 0.2},
            attributes={"tag": tag, "i": i},
        ))
    return ids


def stored(stack: Stack, key: str, n: int) -> dict[str, Any]:
    """The project's stats once it holds at least n traces, else {} (keep polling)."""
    stats: dict[str, Any] = stack.get("/v1/stats", key)
    return stats if stats["traces"] >= n else {}


@chaos
def test_an_outage_is_bridged_by_the_spill_dir_and_nothing_is_lost_or_doubled(
        stack: Stack, tmp_path: Path) -> None:
    ingest = stack.service("ingest")
    ingest.stop()
    spill = tmp_path / "spill"

    # The collector has not started: calls return at once, events go to disk.
    first = VigilClient(KEY_A, stack.target, app="sdk-it", spill_dir=spill,
                        flush_interval_s=0.05)
    ids = record_calls(first, 300, "before-start")
    assert all(ids)
    assert first.close(30)
    assert (first.stats().spilled, first.stats().sent) == (300, 0)
    assert list(spill.glob("*.traces"))

    # The app restarts, still without a collector: the new client adds to the leftovers.
    second = VigilClient(KEY_A, stack.target, app="sdk-it", spill_dir=spill,
                         flush_interval_s=0.05)
    try:
        ids += record_calls(second, 200, "restarted")
        assert second.flush(30)
        assert second.stats().spilled == 200

        stack.start("ingest")  # replayed, oldest first
        wait_until(lambda: second.stats().replayed == 500, 120, "500 spilled events replayed")

        # The collector dies under load (a batch may be in flight) and comes back.
        more: list[str | None] = []
        app = threading.Thread(target=lambda: more.extend(
            record_calls(second, 300, "killed", pause_s=0.005)))
        app.start()
        wait_until(lambda: second.stats().sent >= 550, 60, "traffic flowing again")
        ingest.kill()
        app.join(60)
        stack.start("ingest")
        wait_until(lambda: second.stats().sent == 800, 120, "800 events acknowledged")
        ids += more
        stats = second.stats()
    finally:
        second.close(30)

    assert len(set(ids)) == 800 and None not in ids
    assert (stats.sent, stats.rejected, stats.dropped_total) == (800, 0, 0)
    assert stats.spilled > 200  # some of the last 300 went through the disk too
    assert stats.replayed == 300 + stats.spilled  # the first client's and its own
    assert not list(spill.glob("*.traces"))
    result = wait_until(lambda: stored(stack, KEY_A, 800), 120, "800 traces stored")
    record_fault("ingest down at start, then SIGKILLed under SDK load", sent=len(ids),
                 accepted=stats.sent, stored=result["traces"],
                 distinct=result["distinct_event_ids"], spilled=stats.spilled,
                 replayed=stats.replayed)
    assert (result["traces"], result["distinct_event_ids"]) == (800, 800)


def test_a_full_queue_drops_and_counts_instead_of_blocking() -> None:
    # Nothing listens on the port and spilling is off: the sender holds one batch and
    # retries it, so the tiny queue fills and every further call is dropped at once.
    client = VigilClient(KEY_A, f"127.0.0.1:{free_port()}", app="sdk-it", max_queue=10,
                         batch_size=5, max_spill_bytes=0, timeout_s=1)
    results = [client.record(model="gpt-4o-mini", completion="x") for _ in range(5000)]
    stats = client.stats()
    assert stats.dropped["queue_full"] == results.count(None) > 0
    assert stats.recorded + stats.dropped["queue_full"] == 5000
    assert stats.sent == 0 and stats.collector_up is not True
    assert not client.close(1)  # nothing could be delivered, and that is counted
    assert client.stats().dropped["closed"] == stats.recorded


def test_a_normal_run_stores_every_call_and_every_feedback(stack: Stack,
                                                           tmp_path: Path) -> None:
    if not ingest_running(stack):
        stack.start("ingest")
    client = VigilClient(KEY_B, stack.target, app="sdk-it", spill_dir=tmp_path / "spill")
    ids = record_calls(client, 1000, "normal")
    with client.llm_call(model="gpt-4o-mini", provider="openai", prompt="hi") as call:
        call.completion = "hello"
        call.tokens(input=3, output=2)
    for i in range(20):
        trace_id = f"fb-{i}"
        client.record(model="gpt-4o-mini", provider="openai", trace_id=trace_id,
                      prompt="q", completion="a")
        kind, value = [("thumbs", i % 2), ("score", i / 20), ("text", None)][i % 3]
        client.submit_feedback(trace_id, kind, value, comment="noted", user_id="u1")
    client.submit_feedback(call.trace_id, "thumbs", True)
    assert client.close(30)
    stats = client.stats()
    assert (stats.recorded, stats.sent, stats.rejected, stats.dropped_total) == (
        1042, 1042, 0, 0)

    result = wait_until(lambda: stored(stack, KEY_B, 1021), 120, "1021 traces stored")
    assert (result["traces"], result["distinct_event_ids"]) == (1021, 1021)
    feedback = wait_until(lambda: (s := stack.get("/v1/stats", KEY_B))["feedback"] >= 21 and s,
                          60, "feedback stored")
    assert (feedback["feedback"], feedback["distinct_feedback_ids"]) == (21, 21)
    assert len(set(ids)) == 1000

    trace = stack.get(f"/v1/traces/{call.trace_id}", KEY_B)
    [stored_call] = trace["calls"]
    assert (stored_call["model"], stored_call["completion"]) == ("gpt-4o-mini", "hello")
    assert (stored_call["input_tokens"], stored_call["output_tokens"]) == (3, 2)
    assert stored_call["app"] == "sdk-it"
    assert [f["kind"] for f in trace["feedback"]] == ["thumbs"]
