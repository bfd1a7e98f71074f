"""Sink: enriched traces and feedback -> ClickHouse, offsets committed after the write."""
