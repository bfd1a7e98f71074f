"""Judge configuration: sampling rates, always-include rules, budgets (YAML, optional)
on top of the VIGIL_JUDGE_* settings. Example: examples/judge.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vigil.settings import Settings


class RateRule(BaseModel):
    """A sampling rate for the traces that match every field given (first match wins)."""

    model_config = ConfigDict(extra="forbid")
    project: str | None = None
    app: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    rate: float = Field(ge=0.0, le=1.0)

    def matches(self, project: str, app: str, model: str, prompt_version: str) -> bool:
        return all(want is None or want == got for want, got in (
            (self.project, project), (self.app, app), (self.model, model),
            (self.prompt_version, prompt_version)))


class AlwaysInclude(BaseModel):
    model_config = ConfigDict(extra="forbid")
    errors: bool = True
    negative_feedback: bool = True
    pii: bool = True
    latency_outlier_factor: float | None = Field(3.0, gt=1.0)  # x the slice's median; None: off


class JudgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_rate: float = Field(0.05, ge=0.0, le=1.0)
    rates: list[RateRule] = Field(default_factory=list)
    always_include: AlwaysInclude = Field(default_factory=AlwaysInclude)
    min_per_slice: int = Field(5, ge=0, description="judgments per slice and window at least")
    window_minutes: int = Field(60, ge=1)
    budget_usd_per_day: float = Field(10.0, ge=0.0)
    project_budgets_usd_per_day: dict[str, float] = Field(default_factory=dict)

    def rate_for(self, project: str, app: str, model: str, prompt_version: str) -> float:
        for rule in self.rates:
            if rule.matches(project, app, model, prompt_version):
                return rule.rate
        return self.default_rate

    def budget_for(self, project: str) -> float:
        return self.project_budgets_usd_per_day.get(project, self.budget_usd_per_day)


def load_judge_config(settings: Settings) -> JudgeConfig:
    base = {"default_rate": settings.judge_rate,
            "budget_usd_per_day": settings.judge_budget_usd_per_day}
    path = settings.judge_config_file
    if path is None:
        return JudgeConfig(**base)
    return parse_judge_config(path, base)


def parse_judge_config(path: Path, base: dict[str, object] | None = None) -> JudgeConfig:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the judge config {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: the judge config must be a mapping")
    try:
        return JudgeConfig(**{**(base or {}), **doc})
    except ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from exc
