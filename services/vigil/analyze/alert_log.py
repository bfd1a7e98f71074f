"""The analyzer's alert log: every alert event it ever published, read back from the
alerts topic so that a restarted (or newly elected) analyzer knows which alerts fire.

Why the alerts topic and not a table of its own: an event the analyzer published (and
the broker acknowledged) is exactly an event the notifier will page for, so the topic
is the one record whose content matches what on-call was told. Restoring from it
needs no second write (nothing to keep consistent with the publish: a crash between
"state saved" and "event published" cannot exist), and it has no lag (the alerts
table is written by the sink a few seconds later, and a quick restart would read it
before the last page was stored: it would page again). The analyzer reads the topic
from its first offset to the end offsets of the moment it starts reading, with the
same signature check as the notifier; what is not a signed alert is skipped.

Its limit: the topic's retention. Alerts are a few records a day, so keep
`<prefix>alerts` for longer than an alert may fire (Kafka's default is 7 days; the
embedded broker keeps everything).
"""

from __future__ import annotations

import time

import orjson
from kafka import KafkaConsumer, TopicPartition
from pydantic import TypeAdapter, ValidationError

from vigil.core.alerts import AlertEvent
from vigil.kafka.signing import verify
from vigil.runtime.logs import get_logger

log = get_logger(__name__)
_ALERT = TypeAdapter(AlertEvent)


def decode_lines(value: bytes) -> tuple[list[AlertEvent], int]:
    """The alert events of one record's JSON lines, and how many lines were not one."""
    events, bad = [], 0
    for line in value.split(b"\n"):
        if not line.strip():
            continue
        try:
            events.append(_ALERT.validate_python(orjson.loads(line)))
        except (orjson.JSONDecodeError, ValidationError):
            bad += 1
    return events, bad


def read_alert_log(servers: list[str], topic: str, secret: bytes,
                   timeout_s: float = 60.0) -> list[AlertEvent]:
    """Every signed alert event on `topic`, up to its end offsets at the call.

    Raises TimeoutError when the topic cannot be read to its end in `timeout_s` (the
    caller must not act on a partial log)."""
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=None,
                             enable_auto_commit=False, client_id="vigil-analyzer-alert-log")
    try:
        deadline = time.monotonic() + timeout_s
        if topic not in consumer.topics():  # a fresh install: nothing published yet
            log.info("alert log empty: no alerts topic yet", topic=topic)
            return []
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise TimeoutError(f"no partitions of {topic} known")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        left = {tp for tp in tps if consumer.position(tp) < end[tp]}
        events: list[AlertEvent] = []
        skipped = 0
        while left:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} not read to its end in {timeout_s} s")
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    if record.offset >= end[tp]:
                        continue
                    if verify(secret, record.headers, record.value) is not None:
                        skipped += 1
                    else:
                        found, bad = decode_lines(record.value or b"")
                        events.extend(found)
                        skipped += bad
                if consumer.position(tp) >= end[tp]:
                    left.discard(tp)
        log.info("alert log read", topic=topic, events=len(events), skipped=skipped)
        return events
    finally:
        consumer.close()
