-- The record of applied migrations (the migrator also creates it on its own).
-- migrate:up
CREATE TABLE IF NOT EXISTS vigil_migrations (
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY version;
-- migrate:down
DROP TABLE IF EXISTS vigil_migrations;
