"""Spend budgets in the read API: how much of each budget of the caller's project is
spent, the burn per hour of the period, and when it runs out at the current rate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter

from vigil.api.deps import Project
from vigil.api.filters import sql_time
from vigil.core.budgets import Budget, forecast_budget, period_bounds
from vigil.store.client import Store


def budgets_router(store: Store, budgets: Sequence[Budget]) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/budgets")
    def budget_status(project_id: Project) -> dict[str, Any]:
        """Each budget of the project: spent, forecast for the period, burn by hour."""
        now = datetime.now(UTC)
        mine = [b for b in budgets if b.project == project_id]
        return {"now": now.isoformat(), "budgets": [_status(store, b, now) for b in mine]}

    return router


def _status(store: Store, budget: Budget, now: datetime) -> dict[str, Any]:
    start, _ = period_bounds(budget.period, now)
    burn = store.rows(
        "SELECT toStartOfHour(start_time) AS hour, sum(total_cost) AS cost_usd, "
        "sumIf(total_cost, start_time >= {h:DateTime64(3)}) AS last_hour_usd FROM traces "
        "WHERE project_id = {p:String} AND start_time >= {t0:DateTime64(3)} "
        "AND start_time < {t1:DateTime64(3)} AND ({app:String} = '' OR app = {app:String}) "
        "AND ({user:String} = '' OR user_id = {user:String}) GROUP BY hour ORDER BY hour",
        {"p": budget.project, "t0": sql_time(start), "t1": sql_time(now),
         "h": sql_time(now - timedelta(hours=1)), "app": budget.app, "user": budget.user})
    spent = float(sum(r["cost_usd"] for r in burn))
    last_hour = float(sum(r["last_hour_usd"] for r in burn))
    outlook = forecast_budget(budget, spent, last_hour, now)
    cumulative, burned = 0.0, []
    for row in burn:
        cumulative += float(row["cost_usd"])
        burned.append({"hour": row["hour"], "cost_usd": row["cost_usd"],
                       "cumulative_usd": cumulative})
    return {"name": budget.name, "app": budget.app, "user": budget.user,
            "period": budget.period, "period_start": outlook.period_start.isoformat(),
            "period_end": outlook.period_end.isoformat(), "limit_usd": budget.limit_usd,
            "spent_usd": spent, "spent_share": spent / budget.limit_usd,
            "last_hour_usd": last_hour, "forecast_usd": outlook.forecast_usd,
            "forecast_share": outlook.forecast_usd / budget.limit_usd,
            "runs_out_at": outlook.runs_out_at.isoformat() if outlook.runs_out_at else None,
            "exceeded": spent >= budget.limit_usd, "burn": burned}
