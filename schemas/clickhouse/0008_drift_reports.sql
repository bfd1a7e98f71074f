-- One row per drift analysis of a slice: our tests per feature (JSON), the evidently
-- report's JSON; its HTML (gzip, base64) in parts of drift_report_html, each part
-- small enough for a Kafka record.
-- migrate:up
CREATE TABLE IF NOT EXISTS drift_reports (
    project_id LowCardinality(String),
    run_at DateTime64(3, 'UTC'),
    report_id String,
    app LowCardinality(String),
    model LowCardinality(String),
    reference_start String,
    reference_end String,
    current_start String,
    current_end String,
    drifted_features Array(String),
    report String,
    evidently_json String,
    html_parts UInt32,
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(run_at)
ORDER BY (project_id, run_at, report_id)
TTL toDateTime(run_at) + toIntervalDay(90);
CREATE TABLE IF NOT EXISTS drift_report_html (
    project_id LowCardinality(String),
    run_at DateTime64(3, 'UTC'),
    part_id String,
    report_id String,
    part UInt32,
    data String,
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(run_at)
ORDER BY (project_id, run_at, part_id)
TTL toDateTime(run_at) + toIntervalDay(90);
-- migrate:down
DROP TABLE IF EXISTS drift_report_html;
DROP TABLE IF EXISTS drift_reports;
