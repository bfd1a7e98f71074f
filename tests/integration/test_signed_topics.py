"""Someone who can reach the broker but has no internal secret writes well-formed
records naming another project straight to the internal topics: the sink refuses them
(dead-lettered, with why) and stores only the signed records around them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kafka import KafkaProducer

from tests.conftest import INTERNAL_TOKEN, KEY_B, PROJECT_B, Broker, Stack, wait_until
from tests.support.dead_letters import dead_letters
from tests.support.factories import valid_event
from vigil.core.prices import PriceBook
from vigil.enrich.stage import EnrichConfig, enrich_record
from vigil.events.wire import encode_enriched_batch
from vigil.kafka import topics as t
from vigil.kafka.signing import BAD_SIGNATURE, UNSIGNED, Header, sign
from vigil.settings import Settings
from vigil_protos.v1 import events_pb2 as pb

pytestmark = pytest.mark.integration
SECRET = INTERNAL_TOKEN.encode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("signed-topics"), broker.bootstrap,
              VIGIL_SINK_BATCH_SECONDS="0.2")
    s.start("sink")
    yield s
    s.stop()


def _headers(kind: str, value: bytes) -> list[Header]:
    """The headers of a record: Vigil's signature, none, or one made with a wrong key."""
    if kind == "signed":
        return [sign(SECRET, value)]
    return [] if kind == UNSIGNED else [sign(b"guessed-" + SECRET, value)]


def _enriched(trace_id: str) -> bytes:
    """An enriched-traces record of project B, exactly as enrich would write it."""
    raw = pb.TraceBatch(project_id=PROJECT_B, events=[valid_event(1, trace_id=trace_id)])
    raw.received_at.GetCurrentTime()
    outcome = enrich_record(raw.SerializeToString(), 0, 0, EnrichConfig(PriceBook()))
    return encode_enriched_batch(outcome.records)


def _feedback(feedback_id: str, trace_id: str) -> bytes:
    """A feedback record of project B, exactly as ingest would write it."""
    now = Timestamp()
    now.FromDatetime(datetime.now(UTC))
    return pb.FeedbackRecord(project_id=PROJECT_B, received_at=now, feedback=pb.FeedbackEvent(
        feedback_id=feedback_id, trace_id=trace_id, kind=pb.FEEDBACK_KIND_THUMBS, value=0.0,
        time=now)).SerializeToString()


def _reasons(stack: Stack, topic: str) -> dict[int, str]:
    """Source offset -> reason of every dead letter of `topic` (all on partition 0)."""
    found = dead_letters(stack.env["KAFKA_BOOTSTRAP_SERVERS"], [t.dlq(topic)])
    return {offset: reason for (_, _, offset), reason in found.items()}


def _send(producer: KafkaProducer, topic: str, kind: str, value: bytes) -> int:
    return int(producer.send(topic, value, partition=0,
                             headers=_headers(kind, value)).get(30).offset)


def test_forged_traces_and_feedback_are_dead_lettered_and_not_stored(stack: Stack) -> None:
    topics = t.Topics.from_settings(Settings(topic_prefix=stack.prefix))
    traces = {kind: uuid.uuid4().hex for kind in ("signed", UNSIGNED, BAD_SIGNATURE, "after")}
    target = traces["signed"]  # the forged feedback is given on a real trace of project B
    feedback = {kind: f"fb-{kind.replace(' ', '-')}-{uuid.uuid4().hex[:8]}"
                for kind in ("signed", UNSIGNED, BAD_SIGNATURE, "after")}
    producer = KafkaProducer(bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"], acks="all")
    forged: dict[tuple[str, int], str] = {}  # (topic, offset) -> the reason expected
    try:
        for kind, trace_id in traces.items():
            offset = _send(producer, topics.traces_enriched,
                           "signed" if kind == "after" else kind, _enriched(trace_id))
            if kind in (UNSIGNED, BAD_SIGNATURE):
                forged[(topics.traces_enriched, offset)] = kind
        for kind, feedback_id in feedback.items():
            offset = _send(producer, topics.feedback, "signed" if kind == "after" else kind,
                           _feedback(feedback_id, target))
            if kind in (UNSIGNED, BAD_SIGNATURE):
                forged[(topics.feedback, offset)] = kind
    finally:
        producer.close()

    def stored(trace_id: str) -> bool:
        return bool(stack.get(f"/v1/traces/{trace_id}", key=KEY_B)["calls"])

    wait_until(lambda: stored(traces["after"]), 90, "the signed trace after the forged ones")
    wait_until(lambda: feedback["after"] in {f["feedback_id"] for f in stack.get(
        f"/v1/traces/{target}", key=KEY_B)["feedback"]}, 90, "the signed feedback after")

    reasons = {(topic, offset): reason for topic in (topics.traces_enriched, topics.feedback)
               for offset, reason in _reasons(stack, topic).items()}
    assert {key: reasons.get(key) for key in forged} == forged
    assert set(reasons) == set(forged), "only the forged records are dead-lettered"
    for kind in (UNSIGNED, BAD_SIGNATURE):
        with pytest.raises(Exception, match="404"):
            stack.get(f"/v1/traces/{traces[kind]}", key=KEY_B)
    given = {f["feedback_id"] for f in stack.get(f"/v1/traces/{target}", key=KEY_B)["feedback"]}
    assert given == {feedback["signed"], feedback["after"]}
    stats = stack.get("/v1/stats", key=KEY_B)
    assert (stats["traces"], stats["feedback"]) == (2, 2)
    sink = stack.service("sink").proc
    assert sink is not None and sink.poll() is None, stack.service("sink").tail()
