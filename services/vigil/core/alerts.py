"""Alert events: what the analyzer emits and the notifier delivers.

They travel as JSON objects (one per Kafka record line) on the `<prefix>alerts`
topic; the field names are the `alerts` table's columns. Times are ISO 8601
strings in UTC.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "warning", "info"]
AlertStatus = Literal["firing", "resolved"]
Signal = Literal["cost_spike", "latency_regression", "error_burst", "quality_drop",
                 "input_drift", "output_drift", "traffic_drop", "traffic_spike",
                 "negative_feedback", "budget_forecast", "budget_exceeded", "threshold_rule"]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One state change of an alert: it started firing, or it resolved."""

    alert_id: str            # unique per event (uuid)
    dedupe_key: str          # stable per (project, signal, slice): "<project>:<signal>:<slice>"
    status: AlertStatus
    severity: Severity
    project_id: str
    signal: Signal
    title: str               # one line, e.g. "p95 latency of support-bot/gpt-4o is 3.2x normal"
    summary: str             # a few lines: what, where, since when, value vs baseline
    slice: dict[str, str]    # app / model / prompt_version / environment ("" = all)
    value: float             # the observed value
    baseline: float          # what was expected
    threshold: float         # where it starts to fire
    started_at: str          # when the alert started firing
    event_time: str          # when this event was emitted
    resolved_at: str = ""    # set on the resolved event
    links: dict[str, str] = field(default_factory=dict)  # e.g. {"dashboard": "http://..."}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
