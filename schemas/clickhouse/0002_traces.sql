-- One row per LLM call, after enrichment. Ordered for per-project time-range
-- queries; the bloom filters serve lookups by event id (dedup) and trace id.
-- The TTL is rewritten at start-up from VIGIL_RETENTION_DAYS.
-- migrate:up
CREATE TABLE IF NOT EXISTS traces (
    project_id LowCardinality(String),
    start_time DateTime64(3, 'UTC'),
    end_time DateTime64(3, 'UTC'),
    event_id String,
    trace_id String,
    span_id String,
    parent_span_id String,
    session_id String,
    user_id String,
    app LowCardinality(String),
    environment LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    params String,
    prompt String,
    completion String,
    finish_reason LowCardinality(String),
    prompt_template_id LowCardinality(String),
    prompt_template_version LowCardinality(String),
    input_tokens UInt32,
    output_tokens UInt32,
    cached_input_tokens UInt32,
    tokens_estimated Bool,
    input_cost Float64,
    output_cost Float64,
    total_cost Float64,
    cost_known Bool,
    price_source LowCardinality(String),
    latency_ms Float64,
    status LowCardinality(String),
    error_type LowCardinality(String),
    error_message String,
    attributes Map(String, String),
    pii_masked Map(LowCardinality(String), UInt32),
    received_at DateTime64(3, 'UTC'),
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3),
    raw_partition Int32,
    raw_offset Int64,
    INDEX idx_event_id event_id TYPE bloom_filter GRANULARITY 4,
    INDEX idx_trace_id trace_id TYPE bloom_filter GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toYYYYMM(start_time)
ORDER BY (project_id, start_time, event_id)
TTL toDateTime(start_time) + toIntervalDay(90)
SETTINGS non_replicated_deduplication_window = 1000;
-- migrate:down
DROP TABLE IF EXISTS traces;
