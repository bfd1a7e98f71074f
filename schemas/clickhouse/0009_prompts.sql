-- The prompt registry. One row per prompt version (immutable: never updated) and one
-- row per label move; a label's current version is its last move's to_version, so a
-- move is a single insert, atomic as readers see it. Kept without a TTL: the registry
-- is configuration, not telemetry.
-- migrate:up
CREATE TABLE IF NOT EXISTS prompt_versions (
    project_id LowCardinality(String),
    name String,
    version UInt32,
    version_id String,
    pushed_at DateTime64(3, 'UTC'),
    kind LowCardinality(String),
    messages String,
    template String,
    model String,
    params String,
    content_hash String,
    commit_message String,
    pushed_by String,
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY (project_id, name, version)
SETTINGS non_replicated_deduplication_window = 1000;
CREATE TABLE IF NOT EXISTS prompt_label_moves (
    project_id LowCardinality(String),
    name String,
    seq UInt32,
    move_id String,
    moved_at DateTime64(3, 'UTC'),
    label String,
    from_version UInt32,
    to_version UInt32,
    moved_by String,
    reason LowCardinality(String),
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY (project_id, name, seq)
SETTINGS non_replicated_deduplication_window = 1000;
-- migrate:down
DROP TABLE IF EXISTS prompt_label_moves;
DROP TABLE IF EXISTS prompt_versions;
