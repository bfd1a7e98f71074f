"""The topics Vigil uses and their creation at start-up.

Every consumed topic has a dead-letter twin `<topic>.dlq`. `traces.raw` is
written by ingest only; `traces.app` is where apps produce their own events
(one TraceEvent per record, API key in a header). Both and `traces.enriched`
must have the same partition count: enrich writes each record to the
partition number it read it from, so one trace stays in one partition.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from kafka.partitioner.default import murmur2

from vigil.runtime.logs import get_logger
from vigil.settings import Settings

log = get_logger(__name__)

DLQ_SUFFIX = ".dlq"

# Headers on a dead-lettered record.
H_REASON = "vigil-dlq-reason"
H_SOURCE_TOPIC = "vigil-dlq-source-topic"
H_SOURCE_PARTITION = "vigil-dlq-source-partition"
H_SOURCE_OFFSET = "vigil-dlq-source-offset"
H_STAGE = "vigil-dlq-stage"
H_ERROR_TYPE = "vigil-dlq-error-type"  # the exception's type, when one was raised
H_ATTEMPTS = "vigil-dlq-attempts"  # tries before it was given up


def dead_letter_headers(stage: str, source: tuple[str, int, int], reason: str,
                        error_type: str = "", attempts: int = 0,
                        extra: tuple[tuple[str, bytes], ...] = ()
                        ) -> list[tuple[str, bytes]]:
    """The headers of a dead-lettered record (every consumer writes these, no other)."""
    topic, partition, offset = source
    headers = [(H_REASON, reason.encode()), (H_STAGE, stage.encode()),
               (H_SOURCE_TOPIC, topic.encode()), (H_SOURCE_PARTITION, str(partition).encode()),
               (H_SOURCE_OFFSET, str(offset).encode())]
    if error_type:
        headers.append((H_ERROR_TYPE, error_type.encode()))
    if attempts:
        headers.append((H_ATTEMPTS, str(attempts).encode()))
    return [*headers, *extra]


@dataclass(frozen=True, slots=True)
class Topics:
    traces_raw: str
    traces_enriched: str
    feedback: str
    traces_app: str
    judge_scores: str
    judge_sampling: str
    spans: str
    call_logs: str
    alerts: str
    tickets: str
    alert_deliveries: str
    drift_reports: str
    drift_report_html: str
    analyzer_lease: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Topics:
        return cls(
            traces_raw=settings.topic("traces.raw"),
            traces_enriched=settings.topic("traces.enriched"),
            feedback=settings.topic("feedback"),
            traces_app=settings.topic("traces.app"),
            judge_scores=settings.topic("judge.scores"),
            judge_sampling=settings.topic("judge.sampling"),
            spans=settings.topic("spans"),
            call_logs=settings.topic("call_logs"),
            alerts=settings.topic("alerts"),
            tickets=settings.topic("tickets"),
            alert_deliveries=settings.topic("alert.deliveries"),
            drift_reports=settings.topic("drift.reports"),
            drift_report_html=settings.topic("drift.report_html"),
            analyzer_lease=settings.topic("analyzer.lease"),
        )

    @property
    def consumed(self) -> tuple[str, ...]:
        return (self.traces_raw, self.traces_enriched, self.feedback, self.traces_app,
                self.judge_scores, self.judge_sampling, self.spans, self.call_logs,
                self.alerts, self.tickets, self.drift_reports, self.drift_report_html)

    @property
    def all(self) -> tuple[str, ...]:
        return self.consumed + tuple(dlq(t) for t in self.consumed) + (self.alert_deliveries,)


def dlq(topic: str) -> str:
    return topic + DLQ_SUFFIX


def partition_for(trace_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for key=trace_id."""
    return (murmur2(trace_id.encode()) & 0x7FFFFFFF) % partitions


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> Topics:
    """Create the missing topics; fail when raw and enriched disagree on partitions."""
    topics = Topics.from_settings(settings)
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="vigil-admin",
        request_timeout_ms=int(timeout_s * 1000),
        bootstrap_timeout_ms=int(timeout_s * 1000),
    )
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics.all if t not in existing]
        for name in missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, settings.kafka_partitions,
                                              settings.kafka_replication_factor)])
        if topics.analyzer_lease not in existing:  # one partition: its owner is the leader
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(topics.analyzer_lease, 1,
                                              settings.kafka_replication_factor)])
        if missing:
            log.info("topics created", topics=missing, partitions=settings.kafka_partitions)
        aligned = [topics.traces_raw, topics.traces_app, topics.traces_enriched]
        counts = partition_counts(admin, aligned)
    finally:
        admin.close()
    if len({counts[name] for name in aligned}) != 1:
        raise RuntimeError(
            f"{', '.join(f'{n} has {counts[n]}' for n in aligned)} partitions: give them the "
            "same count (kafka-topics --alter --partitions N) before starting Vigil"
        )
    return topics


def partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    described = admin.describe_topics(names)
    return {t.get("name", t.get("topic")): len(t["partitions"]) for t in described}
