-- Retention counts from when a row was stored, not from the time it describes: history
-- loaded with `vigil import` (older than VIGIL_RETENTION_DAYS counted from today) is kept
-- for the retention period after the import instead of being deleted at the next merge.
-- Live rows are stored seconds after their event, so their lifetime barely changes.
-- Existing parts are not rewritten (materialize_ttl_after_modify = 0); apply_retention
-- rewrites the interval at start-up from VIGIL_RETENTION_DAYS, as before.
-- migrate:up
ALTER TABLE traces MODIFY TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE feedback MODIFY TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE scores MODIFY TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE judge_sampling MODIFY TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE spans MODIFY TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE call_logs MODIFY TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE alerts MODIFY TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE drift_reports MODIFY TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE drift_report_html MODIFY TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
-- migrate:down
ALTER TABLE traces MODIFY TTL toDateTime(start_time) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE feedback MODIFY TTL toDateTime(time) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE scores MODIFY TTL toDateTime(trace_start_time) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE judge_sampling MODIFY TTL toDateTime(minute) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE spans MODIFY TTL toDateTime(start_time) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE call_logs MODIFY TTL toDateTime(time) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE alerts MODIFY TTL toDateTime(event_time) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE drift_reports MODIFY TTL toDateTime(run_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE drift_report_html MODIFY TTL toDateTime(run_at) + toIntervalDay(90) SETTINGS materialize_ttl_after_modify = 0;
