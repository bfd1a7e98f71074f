"""The analyzer's outputs, shared with the notifier and the ticket tooling.

Alerts and tickets travel as JSON objects (one per Kafka record line) on the
`<prefix>alerts` and `<prefix>tickets` topics; the field names are the table
columns. Times are ISO 8601 strings in UTC.
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
class SliceKey:
    """Where a signal was seen; empty strings mean "all"."""

    project_id: str
    app: str = ""
    model: str = ""
    prompt_version: str = ""
    environment: str = ""

    def label(self) -> str:
        parts = [f"{k}={v}" for k, v in (("app", self.app), ("model", self.model),
                                          ("prompt_version", self.prompt_version),
                                          ("environment", self.environment)) if v]
        return ",".join(parts) or "all"


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


TicketStatus = Literal["open", "acknowledged", "resolved"]


@dataclass(frozen=True, slots=True)
class TicketExample:
    trace_id: str
    event_id: str
    prompt: list[dict[str, str]]   # chat messages, PII masked
    completion: str                # PII masked
    score: float | None            # lowest judge score of the trace, if judged
    feedback: str                  # e.g. "thumbs down: wrong order number"
    start_time: str


@dataclass(frozen=True, slots=True)
class Ticket:
    """A retraining ticket: a persistent quality problem or drift, with its evidence."""

    ticket_id: str           # stable per (project, signal, slice) occurrence
    dedupe_key: str          # "<project>:<signal>:<slice>": one open ticket per key
    status: TicketStatus
    project_id: str
    signal: Signal
    title: str
    description: str         # markdown: what changed, where, since when, evidence
    slice: dict[str, str]
    window_start: str
    window_end: str
    before: dict[str, float]  # metrics of the reference window
    after: dict[str, float]   # metrics of the current window
    drift_report: dict[str, Any]  # per-feature test results (statistic, p-value, drifted)
    examples: list[TicketExample]  # the worst examples (a handful)
    dataset_size: int         # traces in the candidate dataset
    opened_at: str
    updated_at: str
    reopened: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
