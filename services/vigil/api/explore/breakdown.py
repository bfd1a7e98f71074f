"""Traffic, cost, latency, errors and judge scores per value of a dimension."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from vigil.api.deps import Project
from vigil.api.explore.scope import IN_WINDOW, SCORES_IN_WINDOW
from vigil.api.filters import DIMENSIONS, SLICE_COLUMNS, Slice, TimeWindow, base_params
from vigil.store.client import Store


def breakdown_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/breakdown/{dimension}")
    def breakdown(
        dimension: Annotated[str, Path(pattern=f"^({'|'.join(DIMENSIONS)})$")],
        project_id: Project, window: TimeWindow, where: Slice,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> dict[str, Any]:
        """Traffic, cost, latency, errors and mean judge score per value of a dimension."""
        column = DIMENSIONS[dimension]
        params = {**base_params(project_id, window, where), "n": limit}
        rows = store.rows(
            f"SELECT {column} AS value, count() AS traces, sum(total_cost) AS cost_usd, "
            "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
            "countIf(status = 'error') AS errors, errors / count() AS error_rate, "
            "quantile(0.5)(latency_ms) AS latency_p50_ms, "
            "quantile(0.95)(latency_ms) AS latency_p95_ms "
            f"FROM traces WHERE project_id = {{p:String}} AND {IN_WINDOW}{where.sql()} "
            "GROUP BY value ORDER BY cost_usd DESC, traces DESC LIMIT {n:UInt32}", params)
        if dimension in SLICE_COLUMNS:
            scores = {r["value"]: r for r in store.rows(
                f"SELECT {column} AS value, count() AS judgments, "
                "avgIf(score, error = '' AND score IS NOT NULL) AS mean_score FROM scores "
                f"WHERE project_id = {{p:String}} AND {SCORES_IN_WINDOW}{where.sql()} "
                "GROUP BY value", params)}
            for row in rows:
                found = scores.get(row["value"], {})
                row["judgments"] = found.get("judgments", 0)
                row["mean_score"] = found.get("mean_score")
        return {"dimension": dimension, "window": window.to_json(),
                "filters": where.to_json(), "rows": rows}

    return router
