"""Random bytes and mutated records on every consumed topic, with valid traces sent
around them: the consuming stages stay up, each bad record lands in its topic's
`.dlq` with a reason, and the valid traces are stored once (reliability suite).
Records on the internal topics are signed, as a Vigil service would write them, so the
decoders behind the signature check are what meets the bad bytes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st
from kafka import KafkaProducer

from tests.conftest import INTERNAL_TOKEN, PROJECT_A, Broker, Stack, wait_until
from tests.support.chaos import record_fault
from tests.support.dead_letters import dead_letters
from tests.support.factories import valid_event
from tests.support.fuzz import FUZZ_TOPICS
from vigil.kafka import topics as t
from vigil.kafka.signing import Header, sign
from vigil.settings import Settings
from vigil_protos.v1 import events_pb2 as pb

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
# A leading NUL is neither a protobuf tag (field 0 does not exist) nor the start of JSON,
# so every payload below is bad for every decoder, whatever hypothesis puts after it.
garbage = st.binary(max_size=300).map(lambda b: b"\x00" + b)
STAGES = ("sink", "enrich", "judge")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("fuzz-topics"), broker.bootstrap,
              VIGIL_SINK_BATCH_SECONDS="0.2", VIGIL_JUDGE_RATE="0")
    s.start("sink", "enrich", "judge")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def consumed(stack: Stack) -> tuple[str, ...]:
    return t.Topics.from_settings(Settings(topic_prefix=stack.prefix)).consumed


@pytest.fixture(scope="module")
def producer(stack: Stack) -> Iterator[KafkaProducer]:
    p = KafkaProducer(bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"], acks="all")
    yield p
    p.close()


@pytest.fixture(scope="module")
def tally(stack: Stack) -> Iterator[dict[str, int]]:
    counts = {"bad": 0, "good": 0, "dead": 0}
    yield counts
    stats = stack.get("/v1/stats")
    record_fault("random bytes and mutated records on every consumed topic",
                 sent=counts["bad"] + counts["good"], accepted=counts["good"],
                 stored=stats["traces"], distinct=stats["distinct_event_ids"],
                 dead_lettered=counts["dead"], bad_records=counts["bad"])


def _signed(stack: Stack, topic: str, value: bytes) -> list[Header]:
    """The headers a Vigil service would give `value` on `topic` (none on the app topic:
    apps authenticate with an API key)."""
    app_topic = t.Topics.from_settings(Settings(topic_prefix=stack.prefix)).traces_app
    return [] if topic == app_topic else [sign(INTERNAL_TOKEN.encode(), value)]


def _valid_raw(n: int) -> tuple[bytes, list[str]]:
    batch = pb.TraceBatch(project_id=PROJECT_A, events=[valid_event(i) for i in range(n)])
    batch.received_at.GetCurrentTime()
    return batch.SerializeToString(), [e.event_id for e in batch.events]


def _mutate(record: bytes, seed: int) -> bytes:
    """A valid record broken: its first byte made an invalid tag, a byte flipped."""
    body = bytearray(record)
    body[0] = 0x00
    body[seed % len(body)] ^= 0xFF
    return bytes(body)


@FUZZ_TOPICS
@given(payloads=st.lists(garbage, min_size=2, max_size=2), seed=st.integers(0, 10_000))
def test_bad_records_are_dead_lettered_and_good_ones_stored(
        payloads: list[bytes], seed: int, stack: Stack, consumed: tuple[str, ...],
        producer: KafkaProducer, tally: dict[str, int]) -> None:
    stored_before = stack.get("/v1/stats")["traces"]
    good, ids = _valid_raw(20)
    sent = {}
    raw = consumed[0]
    producer.send(raw, good, partition=seed % 4, headers=_signed(stack, raw, good)).get(30)
    for topic in consumed:
        bad = [*payloads, _mutate(good, seed)]
        for i, value in enumerate(bad):
            meta = producer.send(topic, value, partition=(seed + i) % 4,
                                 headers=_signed(stack, topic, value)).get(30)
            sent[(topic, meta.partition, meta.offset)] = value
    more, more_ids = _valid_raw(20)
    producer.send(raw, more, partition=(seed + 1) % 4, headers=_signed(stack, raw, more)).get(30)
    tally["bad"] += len(sent)
    tally["good"] += len(ids) + len(more_ids)

    dlqs = [t.dlq(topic) for topic in consumed]
    reasons: dict[tuple[str, int, int], str] = {}

    def all_dead() -> bool:
        reasons.update(dead_letters(stack.env["KAFKA_BOOTSTRAP_SERVERS"], dlqs))
        return set(sent) <= set(reasons)

    try:
        wait_until(all_dead, 90, "every bad record in its topic's dead-letter topic")
    except AssertionError as exc:
        missing = sorted({topic for topic, _, _ in set(sent) - set(reasons)})
        raise AssertionError(f"not dead-lettered from {missing}") from exc
    assert all(reasons[k] for k in sent), "a dead letter without a reason"
    tally["dead"] += len(sent)
    stats = wait_until(lambda: (s := stack.get("/v1/stats"))["traces"] >= stored_before + 40
                       and s, 90, "the valid traces around the bad records stored")
    assert stats["traces"] == stats["distinct_event_ids"] == stored_before + 40
    for name in STAGES:
        proc = stack.service(name).proc
        assert proc is not None and proc.poll() is None, stack.service(name).tail()


def test_a_record_that_makes_a_stage_raise_is_dead_lettered_and_the_partition_goes_on(
        stack: Stack, consumed: tuple[str, ...], producer: KafkaProducer) -> None:
    """Not a payload error: a well-formed feedback record whose time (2^62 s) makes the
    sink's conversion raise OSError. It once stopped the sink on every restart."""
    topics = t.Topics.from_settings(Settings(topic_prefix=stack.prefix))
    poison = pb.FeedbackRecord(project_id=PROJECT_A, feedback=pb.FeedbackEvent(
        feedback_id="fb-poison", trace_id="t-poison", kind=pb.FEEDBACK_KIND_THUMBS,
        value=1.0, time=Timestamp(seconds=2**62)))
    stored_before = stack.get("/v1/stats")["traces"]
    value = poison.SerializeToString()
    meta = producer.send(topics.feedback, value, partition=0,
                         headers=_signed(stack, topics.feedback, value)).get(30)
    good, _ = _valid_raw(20)
    producer.send(topics.traces_raw, good, partition=0,
                  headers=_signed(stack, topics.traces_raw, good)).get(30)

    source = (topics.feedback, meta.partition, meta.offset)
    bootstrap, dlq = stack.env["KAFKA_BOOTSTRAP_SERVERS"], [t.dlq(topics.feedback)]
    reasons = wait_until(lambda: (found := dead_letters(bootstrap, dlq)).get(source) and found,
                         90, "the poison record dead-lettered")
    assert reasons[source].startswith(("OSError", "OverflowError", "ValueError")), reasons
    wait_until(lambda: stack.get("/v1/stats")["traces"] >= stored_before + 20, 90,
               "the traces sent after the poison record stored")
    sink = stack.service("sink").proc
    assert sink is not None and sink.poll() is None, stack.service("sink").tail()
