-- What the judge did with the traces of each slice and minute: eligible (seen),
-- judged (and why), skipped because the day's budget was spent. Rows are
-- partial counts flushed by each judge worker; sum them in queries.
-- migrate:up
CREATE TABLE IF NOT EXISTS judge_sampling (
    project_id LowCardinality(String),
    minute DateTime64(3, 'UTC'),
    summary_id String,
    app LowCardinality(String),
    environment LowCardinality(String),
    model LowCardinality(String),
    prompt_template_version LowCardinality(String),
    eligible UInt32,
    judged UInt32,
    judged_by_rule UInt32,
    skipped_budget UInt32,
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute, summary_id)
TTL toDateTime(minute) + toIntervalDay(90);
-- migrate:down
DROP TABLE IF EXISTS judge_sampling;
