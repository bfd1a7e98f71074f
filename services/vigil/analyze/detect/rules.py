"""User-defined threshold rules: "metric > value for N minutes" on a slice's series.

A YAML file holds a list of rules (or a mapping with a `rules:` list):

    rules:
      - name: p95-too-slow
        metric: latency_p95_ms
        op: ">"
        value: 5000
        for_minutes: 10
        severity: critical
        slice: {app: support-bot}      # optional filter; omitted keys match any

`check_rules(rules, series_by_metric)` fires a rule when every one of the last
`for_minutes` minutes of its metric has data and satisfies the comparison; a
minute without data never counts, so a gap delays rather than fakes a firing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vigil.analyze.detect.series import Finding, MinuteSeries, to_grid
from vigil.analyze.model import SliceKey
from vigil.core.alerts import Severity

SLICE_FIELDS = ("app", "model", "prompt_version", "environment")


class ThresholdRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    op: Literal[">", "<"]
    value: float
    for_minutes: int = Field(1, ge=1)
    severity: Severity = "warning"
    slice: dict[str, str] = Field(default_factory=dict)
    signal: str = "threshold_rule"

    @field_validator("slice")
    @classmethod
    def _known_slice_keys(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(SLICE_FIELDS))
        if unknown:
            raise ValueError(f"unknown slice keys {unknown}; use {list(SLICE_FIELDS)}")
        return v

    def matches(self, key: SliceKey | Mapping[str, str]) -> bool:
        """Whether the rule applies to this slice (every filter key must be equal)."""
        get = key.get if isinstance(key, Mapping) else lambda f: getattr(key, f)
        return all(get(f) == want for f, want in self.slice.items())


class _RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[ThresholdRule] = Field(default_factory=list)


def load_threshold_rules(path: Path | str) -> list[ThresholdRule]:
    """Read and validate the YAML file; ValueError naming the file on any problem."""
    try:
        doc: Any = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the threshold rules {path}: {exc}") from exc
    if doc is None:
        return []
    if isinstance(doc, list):
        doc = {"rules": doc}
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: threshold rules must be a list or a mapping with 'rules'")
    try:
        rules = _RuleFile.model_validate(doc).rules
    except ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    names = [r.name for r in rules]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{path}: rule names must be unique: {', '.join(twice)}")
    return rules


def check_rules(rules: list[ThresholdRule], series_by_metric: Mapping[str, MinuteSeries],
                slice_key: SliceKey | Mapping[str, str] | None = None) -> list[Finding]:
    """The rules that fire on the last `for_minutes` minutes of their metric's series.

    With `slice_key`, rules whose slice filter does not match are skipped. A rule
    whose metric is absent does not fire.
    """
    found = []
    for rule in rules:
        if slice_key is not None and not rule.matches(slice_key):
            continue
        series = series_by_metric.get(rule.metric)
        if series is None:
            continue
        grid = to_grid(series)
        last = grid.tail(rule.for_minutes)
        if len(last) < rule.for_minutes or np.isnan(last).any():
            continue
        above = rule.op == ">"
        if not (last > rule.value if above else last < rule.value).all():
            continue
        value = float(last.min() if above else last.max())  # the least extreme minute
        found.append(Finding(
            rule.signal, "up" if above else "down", value, rule.value, rule.value, 0.0,
            grid.at(grid.end),
            f"rule {rule.name}: {rule.metric} {rule.op} {rule.value:g} "
            f"for {rule.for_minutes} min (least extreme minute {value:.4g})",
            rule.severity))
    return found
