"""The notifier's delivery ledger: which (alert, webhook) deliveries are already made,
so that a notifier that restarts (after a SIGKILL, or a rebalance that moves a
partition) does not post them again.

Why the delivery log topic (`<prefix>alert.deliveries`) and not a local file: any
notifier of the group may take a partition over, and the log is already where every
attempt goes. The notifier writes a `delivered` line there, signed and confirmed, as
soon as a webhook answers 2xx, before it moves on; the alert record's offset is
committed only when all of the record's deliveries are done. A record read again
(the first one a notifier handles on a partition, or after a gap in the offsets) is
checked against the log from the record's own time on: a delivery of it cannot be
older than the record. What stays: a crash between the receiver's 2xx and the
confirmed ledger line (milliseconds) posts once more, with the same
`X-Vigil-Delivery-Id` and the same alert id (PagerDuty merges it by `dedup_key`).
"""

from __future__ import annotations

import time

import orjson
from kafka import KafkaConsumer, TopicPartition

from vigil.kafka.signing import verify
from vigil.runtime.logs import get_logger

log = get_logger(__name__)
SKEW_MS = 60_000  # clocks of the broker and the notifier may differ this much


def delivered_lines(value: bytes) -> set[tuple[str, str]]:
    """(alert_id, webhook) of the `delivered` attempts in one log record's JSON lines."""
    done = set()
    for line in value.split(b"\n"):
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict) and doc.get("outcome") == "delivered":
            done.add((str(doc.get("alert_id")), str(doc.get("webhook"))))
    return done


def delivered_since(servers: list[str], topic: str, secret: bytes, since_ms: int,
                    timeout_s: float = 30.0) -> set[tuple[str, str]]:
    """Every (alert_id, webhook) delivered according to the signed log records written
    at or after `since_ms` (minus SKEW_MS), up to the log's end at the call."""
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=None,
                             enable_auto_commit=False, client_id="vigil-notify-ledger")
    try:
        if topic not in consumer.topics():
            return set()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic)
                                                        or ())]
        starts = consumer.offsets_for_times({tp: max(0, since_ms - SKEW_MS) for tp in tps})
        end = consumer.end_offsets(tps)
        begin = {tp: found.offset for tp in tps
                 if (found := starts.get(tp)) is not None and found.offset < end[tp]}
        left = set(begin)
        consumer.assign(list(left))
        for tp, offset in begin.items():
            consumer.seek(tp, offset)
        done: set[tuple[str, str]] = set()
        deadline = time.monotonic() + timeout_s
        while left:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} not read to its end in {timeout_s} s")
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    if record.offset < end[tp] and \
                            verify(secret, record.headers, record.value) is None:
                        done |= delivered_lines(record.value or b"")
                if consumer.position(tp) >= end[tp]:
                    left.discard(tp)
        return done
    finally:
        consumer.close()
