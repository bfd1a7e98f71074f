-- Tool calls and OTLP logs (issue 17). A prompt message's tool calls and tool-result call id travel
-- inside the `prompt` JSON ([{role, content, name, tool_calls: [{id, name, arguments}],
-- tool_call_id}]); the answer's own tool calls and the tools offered to the model get
-- columns of their own. Rows written before this migration read '[]' and ''.
-- call_logs: the messages an OpenTelemetry app sent as log records of a call's span (one
-- row per record; log_uid = a hash of the record); the read API joins them to the call by
-- event_id (<trace id>-<span id>), so a log that comes before or long after its span
-- still lands on it and neither is written twice.
-- migrate:up
ALTER TABLE traces ADD COLUMN IF NOT EXISTS completion_tool_calls String DEFAULT '[]' AFTER completion;
ALTER TABLE traces ADD COLUMN IF NOT EXISTS tool_definitions String DEFAULT '' AFTER completion_tool_calls;
CREATE TABLE IF NOT EXISTS call_logs (
    project_id LowCardinality(String),
    time DateTime64(3, 'UTC'),
    log_uid String,
    trace_id String,
    span_id String,
    event_id String,
    seq UInt32,
    event_name LowCardinality(String),
    app LowCardinality(String),
    environment LowCardinality(String),
    prompt String,
    completion String,
    completion_tool_calls String,
    finish_reason LowCardinality(String),
    tool_definitions String,
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_trace_id trace_id TYPE bloom_filter GRANULARITY 4,
    INDEX idx_event_id event_id TYPE bloom_filter GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (project_id, time, log_uid)
TTL toDateTime(time) + toIntervalDay(90)
SETTINGS non_replicated_deduplication_window = 1000;
-- migrate:down
DROP TABLE IF EXISTS call_logs;
ALTER TABLE traces DROP COLUMN IF EXISTS tool_definitions;
ALTER TABLE traces DROP COLUMN IF EXISTS completion_tool_calls;
