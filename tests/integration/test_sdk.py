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


COUNTS = ("traces", "distinct_event_ids", "feedback", "distinct_feedback_ids")


def stored(stack: Stack, key: str, before: dict[str, Any], n: int) -> dict[str, int]:
    """What the project gained since `before` (its stats when the test began) once that
    is at least n traces, else {} (keep polling). The module's tests share one store, and
    in a random order another test's traces may already be there."""
    stats = stack.get("/v1/stats", key)
    gained = {k: stats[k] - before[k] for k in COUNTS}
    return gained if gained["traces"] >= n else {}


@chaos
def test_an_outage_is_bridged_by_the_spill_dir_and_nothing_is_lost_or_doubled(
        stack: Stack, tmp_path: Path) -> None:
    before = stack.get("/v1/stats", KEY_A)
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
    result = wait_until(lambda: stored(stack, KEY_A, before, 800), 120, "800 traces stored")
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
    before = stack.get("/v1/stats", KEY_B)
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

    result = wait_until(lambda: stored(stack, KEY_B, before, 1021), 120, "1021 traces stored")
    assert (result["traces"], result["distinct_event_ids"]) == (1021, 1021)
    feedback = wait_until(lambda: (s := stored(stack, KEY_B, before, 0))["feedback"] >= 21 and s,
                          60, "feedback stored")
    assert (feedback["feedback"], feedback["distinct_feedback_ids"]) == (21, 21)
    assert len(set(ids)) == 1000

    trace = stack.get(f"/v1/traces/{call.trace_id}", KEY_B)
    [stored_call] = trace["calls"]
    assert (stored_call["model"], stored_call["completion"]) == ("gpt-4o-mini", "hello")
    assert (stored_call["input_tokens"], stored_call["output_tokens"]) == (3, 2)
    assert stored_call["app"] == "sdk-it"
    assert [f["kind"] for f in trace["feedback"]] == ["thumbs"]


def test_a_call_made_with_a_fetched_prompt_is_stored_linked_to_it(stack: Stack,
                                                                  tmp_path: Path) -> None:
    """Push two versions, label one, roll the other out to everyone of a segment; the app
    fetches through ingest, records with the compiled messages, and the stored traces
    carry the prompt's name, version and variant without the app copying any id."""
    import httpx

    if not ingest_running(stack):
        stack.start("ingest")

    def post(path: str, body: dict[str, Any]) -> None:
        answer = httpx.post(f"{stack.api_url}/v1/prompts{path}", json=body, timeout=60,
                            headers={"authorization": f"Bearer {KEY_A}"})
        assert answer.status_code in (200, 201), answer.text

    for text in ("Where is order {{order_id}}?", "Order {{order_id}}: where is it?"):
        post("/linked/versions", {"messages": [{"role": "user", "content": text}]})
    post("/linked/labels/production", {"version": 1})
    post("/linked/rollouts/production", {"to_version": 2, "percent": 100,
                                         "segment": {"plan": ["pro"]}})
    with VigilClient(KEY_A, stack.target, app="linked-app", spill_dir=tmp_path / "spill",
                     prompt_timeout_s=60) as client:
        pro = client.get_prompt("linked", user_id="u-pro", attributes={"plan": "pro"})
        free = client.get_prompt("linked", user_id="u-free", attributes={"plan": "free"})
        assert pro is not None and free is not None, client.stats()
        assert (pro.version, pro.variant, free.version, free.variant) == (
            2, "candidate", 1, "")
        trace_ids = {}
        for who, prompt in (("pro", pro), ("free", free)):
            with client.llm_call(model="gpt-4o-mini", provider="openai",
                                 prompt=prompt.compile(order_id=7)) as call:
                call.completion = "It ships tomorrow."
            trace_ids[who] = call.trace_id
        assert client.flush(60)

    def stored_call(trace_id: str) -> dict[str, Any] | None:
        answer = httpx.get(f"{stack.api_url}/v1/traces/{trace_id}", timeout=10,
                           headers={"authorization": f"Bearer {KEY_A}"})
        return answer.json()["calls"][0] if answer.status_code == 200 else None

    pro_call = wait_until(lambda: stored_call(trace_ids["pro"]), 120, "the pro call stored")
    free_call = wait_until(lambda: stored_call(trace_ids["free"]), 120, "the free call stored")
    assert (pro_call["prompt_template_id"], pro_call["prompt_template_version"]) == (
        "linked", "2")
    assert pro_call["attributes"]["vigil.prompt.variant"] == "candidate"
    assert pro_call["attributes"]["vigil.prompt.rollout_id"] == "linked:production#1"
    assert pro_call["attributes"]["vigil.prompt.label"] == "production"
    assert (free_call["prompt_template_id"], free_call["prompt_template_version"]) == (
        "linked", "1")
    assert "vigil.prompt.variant" not in free_call["attributes"]
    assert "Order 7: where is it?" in pro_call["prompt"]
