"""Reading dead-letter topics back in tests: what was dead-lettered, and why."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition

from vigil.kafka import topics as t


def dead_letters(bootstrap: str, dlq_topics: list[str]) -> dict[tuple[str, int, int], str]:
    """(source topic, partition, offset) -> reason of every dead letter of these topics
    (read without a consumer group: joining one is slow on the embedded broker)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    found = {}
    try:
        partitions = [TopicPartition(topic, p) for topic in dlq_topics
                      for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=1000).values():
                for m in records:
                    h = {k: v.decode() for k, v in m.headers}
                    found[(h[t.H_SOURCE_TOPIC], int(h[t.H_SOURCE_PARTITION]),
                           int(h[t.H_SOURCE_OFFSET]))] = h[t.H_REASON]
    finally:
        consumer.close()
    return found
