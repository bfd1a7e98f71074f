"""Apps producing straight to Kafka (`<prefix>traces.app`), protobuf and JSON, with the
same validation as ingest and the dead-letter topic for what fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.protobuf import json_format
from kafka import KafkaConsumer, KafkaProducer

from tests.conftest import KEY_A, KEY_B, Broker, Stack, wait_until
from tests.support.factories import valid_event
from vigil.kafka import topics as t

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("direct"), broker.bootstrap)
    s.start("sink", "enrich")
    yield s
    s.stop()


def _dead_letters(stack: Stack, topic: str, n: int) -> list[tuple[bytes, dict[str, str]]]:
    consumer = KafkaConsumer(t.dlq(topic), bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"],
                             auto_offset_reset="earliest", consumer_timeout_ms=60_000)
    out = []
    for record in consumer:
        out.append((record.value, {k: v.decode() for k, v in record.headers}))
        if len(out) == n:
            break
    consumer.close()
    return out


def test_protobuf_and_json_events_are_stored_and_bad_ones_dead_lettered(stack: Stack) -> None:
    topic = f"{stack.prefix}traces.app"
    producer = KafkaProducer(bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"], acks="all")
    auth = ("authorization", f"Bearer {KEY_A}".encode())
    as_proto, as_json = valid_event(1), valid_event(2)
    producer.send(topic, as_proto.SerializeToString(), key=as_proto.trace_id.encode(),
                  headers=[auth]).get(30)
    producer.send(topic, json_format.MessageToJson(as_json).encode(),
                  key=as_json.trace_id.encode(),
                  headers=[auth, ("content-type", b"application/json")]).get(30)
    bad = [
        (b'{"event_id": "x", "model": ', [auth, ("content-type", b"application/json")],
         "not a vigil.v1.TraceEvent in JSON"),
        (valid_event(3, model="").SerializeToString(), [auth], "invalid event: model"),
        (valid_event(4).SerializeToString(), [], "missing or unknown API key"),
        (valid_event(5).SerializeToString(), [("authorization", b"Bearer wrong")],
         "missing or unknown API key"),
    ]
    for value, headers, _ in bad:
        producer.send(topic, value, headers=headers, partition=0).get(30)
    producer.close()

    for event in (as_proto, as_json):
        trace = wait_until(lambda e=event: stack.get(f"/v1/traces/{e.trace_id}"), 90,
                           "the direct-Kafka event stored")
        [call] = trace["calls"]
        assert call["event_id"] == event.event_id and call["model"] == event.model
        assert call["input_tokens"] == event.input_tokens and call["total_cost"] > 0
    with pytest.raises(Exception, match="404"):
        stack.get(f"/v1/traces/{as_proto.trace_id}", key=KEY_B)

    dead = dict(_dead_letters(stack, topic, len(bad)))  # the dlq's partitions: any order
    assert sorted(dead) == sorted(v for v, _, _ in bad)
    for value, _, reason in bad:
        assert reason in dead[value][t.H_REASON]
        assert dead[value][t.H_SOURCE_TOPIC] == topic and dead[value][t.H_STAGE] == "enrich"
