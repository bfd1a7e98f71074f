"""Judge scores: a summary per evaluator and the lowest recent scores."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from vigil.api.deps import Project
from vigil.api.explore.scope import SCORES_IN_WINDOW
from vigil.api.filters import TEXT, Slice, TimeWindow, base_params
from vigil.store.client import Store


def scores_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/scores")
    def scores(
        project_id: Project, window: TimeWindow, where: Slice,
        evaluator: Annotated[str | None, Query(max_length=TEXT)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Per-evaluator summary and the lowest recent scores (the ones worth reading)."""
        params = {**base_params(project_id, window, where), "e": evaluator or "",
                  "n": limit}
        scope = (f"project_id = {{p:String}} AND {SCORES_IN_WINDOW}{where.sql()} "
                 "AND ({e:String} = '' OR evaluator = {e:String})")
        summary = store.rows(
            "SELECT evaluator, count() AS judgments, countIf(error != '') AS errors, "
            "avgIf(score, error = '' AND score IS NOT NULL) AS mean_score, "
            "quantileIf(0.1)(score, error = '' AND score IS NOT NULL) AS p10_score "
            f"FROM scores WHERE {scope} GROUP BY evaluator ORDER BY evaluator", params)
        lowest = store.rows(
            "SELECT trace_id, event_id, trace_start_time, app, model, "
            "prompt_template_version, evaluator, score, label, rationale FROM scores "
            f"WHERE {scope} AND error = '' AND score IS NOT NULL "
            "ORDER BY score, trace_start_time DESC LIMIT {n:UInt32}", params)
        return {"window": window.to_json(), "evaluators": summary,
                "lowest": lowest}

    return router
