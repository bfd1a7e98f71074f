-- Alert events (firing / resolved, one row per event) and ticket versions (one row
-- per change; the latest row of a ticket_id is its state).
-- migrate:up
CREATE TABLE IF NOT EXISTS alerts (
    project_id LowCardinality(String),
    event_time DateTime64(3, 'UTC'),
    alert_id String,
    dedupe_key String,
    status LowCardinality(String),
    severity LowCardinality(String),
    signal LowCardinality(String),
    title String,
    summary String,
    slice Map(String, String),
    value Float64,
    baseline Float64,
    threshold Float64,
    started_at DateTime64(3, 'UTC'),
    resolved_at String,
    links Map(String, String),
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (project_id, event_time, alert_id)
TTL toDateTime(event_time) + toIntervalDay(90);
CREATE TABLE IF NOT EXISTS tickets (
    project_id LowCardinality(String),
    updated_at DateTime64(3, 'UTC'),
    version_id String,
    ticket_id String,
    dedupe_key String,
    status LowCardinality(String),
    signal LowCardinality(String),
    title String,
    description String,
    slice Map(String, String),
    window_start String,
    window_end String,
    before Map(String, Float64),
    after Map(String, Float64),
    drift_report String,
    examples String,
    dataset_size UInt32,
    opened_at DateTime64(3, 'UTC'),
    reopened UInt32,
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(updated_at)
ORDER BY (project_id, updated_at, version_id)
TTL toDateTime(updated_at) + toIntervalDay(365);
-- migrate:down
DROP TABLE IF EXISTS tickets;
DROP TABLE IF EXISTS alerts;
