"""Budget alerts (pure): spent past the limit is `budget_exceeded` (critical); the
forecast (vigil.core.budgets) past it, `budget_forecast` (warning)."""

from __future__ import annotations

from datetime import datetime

from vigil.analyze.alerting import Observation
from vigil.analyze.model import SliceKey
from vigil.core.budgets import Budget, forecast_budget


def check_budget(budget: Budget, spent: float, last_hour: float, now: datetime
                 ) -> Observation | None:
    outlook = forecast_budget(budget, spent, last_hour, now)
    forecast, reached = outlook.forecast_usd, outlook.runs_out_at
    key = SliceKey(budget.project, app=budget.app,
                   environment=f"user={budget.user}" if budget.user else "")
    if spent >= budget.limit_usd:
        title = f"{budget.name} exceeded: ${spent:.2f} of ${budget.limit_usd:.2f}"
        return Observation("budget_exceeded", key, "critical", title,
                           f"{title}; spending ${last_hour:.2f}/h.", spent, budget.limit_usd,
                           budget.limit_usd, rule=budget.period)
    if reached is not None:
        title = (f"{budget.name} will run out at {reached:%Y-%m-%d %H:%M} UTC "
                 f"(${spent:.2f} of ${budget.limit_usd:.2f} spent)")
        return Observation("budget_forecast", key, "warning", title,
                           f"{title}; at ${last_hour:.2f}/h the forecast is ${forecast:.2f}.",
                           forecast, budget.limit_usd, budget.limit_usd, rule=budget.period)
    return None
