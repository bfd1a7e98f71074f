"""The faust app of a stage (enrich, judge): one set of broker, group and commit
settings for every faust stage, and its data folder under VIGIL_DATA_DIR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust

from vigil.settings import Settings


def faust_dir(settings: Settings, stage: str) -> Path:
    """A faust app's data folder under the data dir (faust's default is `{id}-data` in
    the working directory, and it creates one level only)."""
    path = settings.data_dir / "faust" / stage
    path.mkdir(parents=True, exist_ok=True)
    return path


def stage_app(settings: Settings, stage: str, **options: Any) -> faust.App:
    """The faust app of `stage` in its consumer group; `options` add to or override
    the shared settings."""
    shared: dict[str, Any] = {
        "broker": [f"kafka://{s.strip()}" for s in settings.kafka_bootstrap_servers.split(",")],
        "store": "memory://",
        "datadir": str(faust_dir(settings, stage)),
        "web_enabled": False,
        "topic_allow_declare": False,
        "topic_disable_leader": True,
        "consumer_auto_offset_reset": "earliest",
        "broker_session_timeout": settings.kafka_session_timeout_ms / 1000,
        "broker_heartbeat_interval": settings.kafka_heartbeat_interval_ms / 1000,
        "producer_acks": -1,
        "broker_commit_every": 100,
        "broker_commit_interval": 1.0,
    }
    return faust.App(settings.group(stage), **{**shared, **options})
