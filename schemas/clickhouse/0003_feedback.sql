-- User feedback on a trace (thumbs, score, text), joinable on trace_id.
-- migrate:up
CREATE TABLE IF NOT EXISTS feedback (
    project_id LowCardinality(String),
    time DateTime64(3, 'UTC'),
    feedback_id String,
    trace_id String,
    kind LowCardinality(String),
    value Float64,
    comment String,
    user_id String,
    received_at DateTime64(3, 'UTC'),
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3),
    source_partition Int32,
    source_offset Int64,
    INDEX idx_trace_id trace_id TYPE bloom_filter GRANULARITY 4,
    INDEX idx_feedback_id feedback_id TYPE bloom_filter GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (project_id, time, feedback_id)
TTL toDateTime(time) + toIntervalDay(90)
SETTINGS non_replicated_deduplication_window = 1000;
-- migrate:down
DROP TABLE IF EXISTS feedback;
