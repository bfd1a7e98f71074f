-- One row per judgment of a trace by one evaluator (score, or a judge error with
-- score NULL). score_id = event_id:evaluator:version, so a replay is stored once;
-- ordered by the judged trace's start time, like the traces themselves.
-- migrate:up
CREATE TABLE IF NOT EXISTS scores (
    project_id LowCardinality(String),
    trace_start_time DateTime64(3, 'UTC'),
    score_id String,
    trace_id String,
    event_id String,
    app LowCardinality(String),
    environment LowCardinality(String),
    model LowCardinality(String),
    prompt_template_id LowCardinality(String),
    prompt_template_version LowCardinality(String),
    evaluator LowCardinality(String),
    evaluator_version LowCardinality(String),
    score Nullable(Float64),
    label LowCardinality(String),
    rationale String,
    error String,
    sample_reason LowCardinality(String),
    judge_model LowCardinality(String),
    judge_cost Float64,
    judge_latency_ms Float64,
    judge_input_tokens UInt32,
    judge_output_tokens UInt32,
    judged_at DateTime64(3, 'UTC'),
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_trace_id trace_id TYPE bloom_filter GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toYYYYMM(trace_start_time)
ORDER BY (project_id, trace_start_time, score_id)
TTL toDateTime(trace_start_time) + toIntervalDay(90)
SETTINGS non_replicated_deduplication_window = 1000;
-- migrate:down
DROP TABLE IF EXISTS scores;
