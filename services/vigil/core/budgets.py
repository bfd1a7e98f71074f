"""Spend budgets per project / app / user over the UTC day or month, with a forecast
that warns before the limit is reached (pure, plus the YAML loader).

    budgets:
      - {project: demo, period: day, limit_usd: 50}
      - {project: demo, app: support-bot, period: month, limit_usd: 500}
      - {project: demo, user: u-42, period: day, limit_usd: 2}

Forecast: what was spent since the period began plus the last hour's rate times
the hours left. The analyzer turns it into alerts (vigil.analyze.budgets); the read
API shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    project: str = Field(min_length=1)
    app: str = ""
    user: str = ""
    period: Literal["day", "month"] = "day"
    limit_usd: float = Field(gt=0)

    @property
    def name(self) -> str:
        scope = self.app or (f"user {self.user}" if self.user else "all apps")
        return f"{self.project}/{scope} {'daily' if self.period == 'day' else 'monthly'} budget"


def load_budgets(path: Path) -> list[Budget]:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
        return [Budget(**b) for b in doc.get("budgets", [])]
    except (OSError, yaml.YAMLError, ValidationError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


@dataclass(frozen=True)
class BudgetForecast:
    period_start: datetime
    period_end: datetime
    forecast_usd: float            # spent plus the last hour's rate until the period ends
    runs_out_at: datetime | None   # when that rate reaches the limit within the period


def forecast_budget(budget: Budget, spent: float, last_hour: float, now: datetime
                    ) -> BudgetForecast:
    start, end = period_bounds(budget.period, now)
    hours_left = max(0.0, (end - now).total_seconds() / 3600)
    forecast = spent + last_hour * hours_left
    runs_out = None
    if spent < budget.limit_usd <= forecast and last_hour > 0:
        runs_out = now + timedelta(hours=(budget.limit_usd - spent) / last_hour)
    return BudgetForecast(start, end, forecast, runs_out)
