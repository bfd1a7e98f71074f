-- Rollouts of prompt versions. One row per start, change and stop of a rollout (never
-- updated); a label's rollout is its last row, and a stop row ends it, so a change is a
-- single insert, atomic as readers see it, and the history is exact. Kept without a TTL,
-- like the registry.
-- migrate:up
CREATE TABLE IF NOT EXISTS prompt_rollouts (
    project_id LowCardinality(String),
    name String,
    label String,
    seq UInt32,
    row_id String,
    rollout_id String,
    action LowCardinality(String),
    at DateTime64(3, 'UTC'),
    control_version UInt32,
    candidate_version UInt32,
    percent Float64,
    split_by LowCardinality(String),
    segment String,
    guards Array(String),
    auto_promote Bool,
    changed_by String,
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY (project_id, name, label, seq)
SETTINGS non_replicated_deduplication_window = 1000;
-- migrate:down
DROP TABLE IF EXISTS prompt_rollouts;
