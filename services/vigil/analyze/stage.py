"""One analysis cycle (pure given its inputs): series per slice -> observations ->
alert events, and persistent quality problems -> ticket candidates."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from vigil.analyze.alerting import Observation
from vigil.analyze.detect.anomaly import SIGNALS, SignalSpec, detect_series
from vigil.analyze.detect.rules import ThresholdRule, check_rules
from vigil.analyze.detect.series import Finding
from vigil.analyze.history import METRICS, SeriesHistory
from vigil.analyze.model import SliceKey
from vigil.core.alerts import Severity

CRITICAL = {"error_burst", "traffic_drop"}
# the events behind each minute of a signal: its `min_count` floor counts these
COUNTS = {"error_rate": "requests", "negative_feedback_rate": "feedback",
          "judge_score_mean": "judgments"}
TITLES = {
    "cost_spike": "Cost of {s} is {r:.1f}x normal",
    "latency_regression": "p95 latency of {s} is {r:.1f}x normal",
    "error_burst": "Error rate of {s} jumped to {v:.1%}",
    "quality_drop": "Judge score of {s} dropped to {v:.2f}",
    "negative_feedback": "Negative feedback on {s} rose to {v:.1%}",
    "traffic_drop": "Traffic of {s} fell to {r:.0%} of normal",
    "traffic_spike": "Traffic of {s} is {r:.1f}x normal",
}


def observe(history: SeriesHistory, now: datetime, window_minutes: int,
            rules: list[ThresholdRule] | None = None) -> list[Observation]:
    """Run every signal's detector, and the user's threshold rules, on every slice for
    the window ending at `now`."""
    end = pd.Timestamp(now).floor("min")
    start = end - pd.Timedelta(minutes=window_minutes)
    found = []
    for key in history.slices():
        if rules:
            found.extend(_rule_observations(history, key, rules, end, start))
        for signal, spec in SIGNALS.items():
            series = history.series(key, spec.metric, fill_zero=spec.missing_is_zero)
            if series.empty:
                continue
            window_index = pd.date_range(start, end - pd.Timedelta(minutes=1), freq="min")
            window = series.reindex(window_index)
            past = series[series.index < start]
            counts = None
            if (count_metric := counts_of(spec)) is not None:
                counts = history.series(key, count_metric).reindex(window_index)
            finding = detect_series(past, window, signal, counts=counts)
            if finding is not None:
                found.append(_observation(key, signal, finding, start.to_pydatetime()))
    return found


def counts_of(spec: SignalSpec) -> str | None:
    """The series of event counts behind a signal's minutes: the rate's or mean's
    denominator (requests, feedback, judge scores), or the requests for any other
    signal with a `min_count` floor (cost, latency). None for count signals (traffic):
    they are their own count."""
    if spec.missing_is_zero:
        return None
    return COUNTS.get(spec.metric) or ("requests" if spec.min_count > 0 else None)


def _rule_observations(history: SeriesHistory, key: SliceKey, rules: list[ThresholdRule],
                       end: pd.Timestamp, start: pd.Timestamp) -> list[Observation]:
    series = {m: s[s.index < end] for m in METRICS if not (s := history.series(key, m)).empty}
    out = []
    for rule, finding in zip_rules(rules, series, key):
        where = "/".join(p for p in (key.app, key.model) if p) or "all traffic"
        title = f"Rule {rule.name} on {where}: {rule.metric} {rule.op} {rule.value:g}"
        out.append(Observation(
            "threshold_rule", key, finding.severity or rule.severity, title,
            f"{title} for {rule.for_minutes} min since {start:%Y-%m-%d %H:%M} UTC. "
            f"{finding.detail}", finding.value, rule.value, rule.value, rule=rule.name))
    return out


def zip_rules(rules: list[ThresholdRule], series: dict[str, pd.Series], key: SliceKey
              ) -> list[tuple[ThresholdRule, Finding]]:
    """Each firing rule with its finding (check_rules keeps the rules' order)."""
    pairs = []
    for rule in rules:
        pairs.extend((rule, f) for f in check_rules([rule], series, key))
    return pairs


def _observation(key: SliceKey, signal: str, finding: object, since: datetime
                 ) -> Observation:
    value, baseline = finding.value, finding.baseline  # type: ignore[attr-defined]
    ratio = value / baseline if baseline else float("inf")
    where = "/".join(p for p in (key.app, key.model) if p) or "all traffic"
    severity: Severity = "critical" if signal in CRITICAL else "warning"
    title = TITLES.get(signal, "{s}: " + signal).format(s=where, r=ratio, v=value)
    summary = (f"{title} in project {key.project_id} since {since:%Y-%m-%d %H:%M} UTC: "
               f"{value:.4g} vs a baseline of {baseline:.4g}. "
               f"{finding.detail}")  # type: ignore[attr-defined]
    return Observation(signal, key, severity, title, summary, float(value), float(baseline),  # type: ignore[arg-type]
                       float(finding.threshold))  # type: ignore[attr-defined]


def window_bounds(now: datetime, window_minutes: int) -> tuple[datetime, datetime]:
    end = now.replace(second=0, microsecond=0)
    return end - timedelta(minutes=window_minutes), end
