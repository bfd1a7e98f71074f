-- Spans of a trace that are not LLM calls (HTTP, retrieval, agent steps), kept from
-- OTLP so a trace's LLM calls can be shown in their tree. span_uid = trace_id-span_id.
-- migrate:up
CREATE TABLE IF NOT EXISTS spans (
    project_id LowCardinality(String),
    start_time DateTime64(3, 'UTC'),
    span_uid String,
    trace_id String,
    span_id String,
    parent_span_id String,
    name String,
    kind LowCardinality(String),
    app LowCardinality(String),
    environment LowCardinality(String),
    end_time DateTime64(3, 'UTC'),
    duration_ms Float64,
    status LowCardinality(String),
    status_message String,
    attributes Map(String, String),
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_trace_id trace_id TYPE bloom_filter GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toYYYYMM(start_time)
ORDER BY (project_id, start_time, span_uid)
TTL toDateTime(start_time) + toIntervalDay(90)
SETTINGS non_replicated_deduplication_window = 1000;
-- migrate:down
DROP TABLE IF EXISTS spans;
