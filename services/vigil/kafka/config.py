"""The settings of Vigil's kafka-python consumers, from `Settings`: one place for all."""

from __future__ import annotations

from typing import Any

from vigil.settings import Settings


def consumer_config(settings: Settings, stage: str, **overrides: Any) -> dict[str, Any]:
    """The settings of a group consumer of `stage`: offsets committed by hand only, a
    new group starts at the beginning, timeouts from `Settings`."""
    return {"bootstrap_servers": settings.kafka_bootstrap_servers.split(","),
            "group_id": settings.group(stage), "client_id": f"vigil-{stage}",
            "enable_auto_commit": False, "auto_offset_reset": "earliest",
            "session_timeout_ms": settings.kafka_session_timeout_ms,
            "heartbeat_interval_ms": settings.kafka_heartbeat_interval_ms, **overrides}


def reader_config(settings: Settings, client_id: str) -> dict[str, Any]:
    """The settings of a consumer outside any group (reads a range, commits nothing)."""
    return {"bootstrap_servers": settings.kafka_bootstrap_servers.split(","),
            "client_id": client_id, "enable_auto_commit": False}
