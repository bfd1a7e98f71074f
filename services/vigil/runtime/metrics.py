"""Prometheus metrics of every stage, served on /metrics (VIGIL_METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

INGEST_EVENTS = Counter(
    "vigil_ingest_events_total", "Trace events received by ingest", ["outcome"]
)
OTLP_LOG_RECORDS = Counter(
    "vigil_otlp_log_records_total", "OTLP log records received by ingest, by outcome: "
    "messages, scores, dropped (not GenAI records of a span), rejected", ["outcome"]
)
INGEST_ACK_SECONDS = Histogram(
    "vigil_ingest_ack_seconds", "Time from request to Kafka-confirmed acknowledgement", ["rpc"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
INGEST_PENDING_EVENTS = Gauge(
    "vigil_ingest_pending_events", "Events ingest holds that Kafka has not confirmed yet"
)
ENRICH_EVENTS = Counter("vigil_enrich_events_total", "Events through enrich", ["outcome"])
ENRICH_PII = Counter("vigil_enrich_pii_masked_total", "PII items masked", ["kind"])
ENRICH_UNPRICED = Counter("vigil_enrich_unpriced_total", "Events of models without a price")
DEAD_LETTERS = Counter("vigil_dead_letters_total", "Records sent to a dead-letter topic",
                       ["stage", "topic"])
POISON_RETRIES = Counter("vigil_record_retries_total",
                         "Failed attempts at processing one record (unknown exceptions)",
                         ["stage"])
ANALYZER_FAILURES = Counter("vigil_analyzer_failures_total",
                            "Analyzer work that failed and was skipped, by part",
                            ["part"])
JUDGE_DECISIONS = Counter("vigil_judge_decisions_total", "Sampling decisions of the judge",
                          ["reason"])
JUDGE_JUDGMENTS = Counter("vigil_judge_judgments_total", "Judgments made",
                          ["evaluator", "outcome"])
JUDGE_SKIPPED_BUDGET = Counter("vigil_judge_skipped_budget_total",
                               "LLM judgments skipped because the project's daily budget was "
                               "spent", ["project"])
JUDGE_SPEND = Counter("vigil_judge_spend_usd_total", "LLM judge spend in USD", ["project"])
SINK_ROWS = Counter("vigil_sink_rows_total", "Rows written to ClickHouse", ["table"])
SINK_DUPLICATES = Counter("vigil_sink_duplicates_skipped_total",
                          "Rows not written because the store already holds them", ["table"])
SINK_INSERT_SECONDS = Histogram("vigil_sink_insert_seconds", "ClickHouse insert time", ["table"])
SINK_RETRIES = Counter("vigil_sink_store_retries_total", "Failed inserts retried")
STORE_OWNER_ROWS = Counter("vigil_store_owner_rows_total", "Rows other sinks sent to this "
                           "store owner's write endpoint, by outcome", ["table", "outcome"])


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics on host:port (loopback unless configured); port 0: off."""
    if port:
        start_http_server(port, addr=host)
