"""A/B comparison: each variant's sample size and mean on a metric, and a significance
test of one variant against another (the statistics are vigil.api.comparison's)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from vigil.api.comparison import VariantSample, compare
from vigil.api.deps import Project
from vigil.api.explore.scope import IN_WINDOW, SCORES_IN_WINDOW
from vigil.api.filters import (
    SLICE_COLUMNS,
    TEXT,
    Slice,
    SliceFilter,
    TimeWindow,
    Window,
    base_params,
)
from vigil.store.client import Store

# metric -> (kind, higher is better, what it is)
METRICS = {"score": ("mean", True, "mean judge score"),
           "thumbs_up": ("rate", True, "share of thumbs-up feedback"),
           "error_rate": ("rate", False, "share of calls that failed"),
           "latency": ("mean", False, "mean latency in ms"),
           "cost": ("mean", False, "mean cost per call in USD")}


def compare_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/compare")
    def compare_variants(
        project_id: Project, window: TimeWindow, where: Slice,
        dimension: Annotated[str, Query(pattern="^(prompt_version|model|app|environment)$")
                             ] = "prompt_version",
        metric: Annotated[str, Query(pattern=f"^({'|'.join(METRICS)})$")] = "score",
        evaluator: Annotated[str | None, Query(max_length=TEXT)] = None,
        a: Annotated[str | None, Query(max_length=TEXT)] = None,
        b: Annotated[str | None, Query(max_length=TEXT)] = None,
    ) -> dict[str, Any]:
        """Each variant's sample size and mean on a metric, and a significance test of b vs a
        (default: the two variants with the most samples)."""
        samples = _variant_samples(store, project_id, window, where, dimension, metric,
                                   evaluator)
        by_name = {s.variant: s for s in samples}
        for name in (a, b):
            if name is not None and name not in by_name:
                raise HTTPException(404, f"no {dimension} {name!r} with data for {metric} "
                                         "in this window and slice")
        ranked = [s.variant for s in sorted(samples, key=lambda s: -s.n)]
        first = a or next((v for v in ranked if v != b), None)
        second = b or next((v for v in ranked if v != first), None)
        kind, higher_is_better, meaning = METRICS[metric]
        result = None
        if first is not None and second is not None and first != second:
            result = compare(by_name[first], by_name[second], kind, higher_is_better).to_json()
        return {"dimension": dimension, "metric": metric, "meaning": meaning,
                "higher_is_better": higher_is_better, "window": window.to_json(),
                "filters": where.to_json(),
                "variants": [{"variant": s.variant, "n": s.n, "mean": s.mean} for s in samples],
                "comparison": result}

    return router


def _variant_samples(store: Store, project_id: str, window: Window, where: SliceFilter,
                     dimension: str, metric: str, evaluator: str | None
                     ) -> list[VariantSample]:
    column = SLICE_COLUMNS[dimension]
    params = {**base_params(project_id, window, where), "e": evaluator or ""}
    traces = f"FROM traces WHERE project_id = {{p:String}} AND {IN_WINDOW}{where.sql()}"
    if metric == "score":
        sql = (f"SELECT {column} AS variant, count() AS n, avg(score) AS mean, "
               "varSamp(score) AS variance FROM scores WHERE project_id = {p:String} "
               f"AND {SCORES_IN_WINDOW}{where.sql()} AND error = '' AND score IS NOT NULL "
               "AND ({e:String} = '' OR evaluator = {e:String}) GROUP BY variant")
    elif metric == "thumbs_up":
        sql = ("SELECT t.variant AS variant, count() AS n, avg(f.value >= 0.5) AS mean, "
               "0 AS variance FROM feedback AS f INNER JOIN "
               f"(SELECT trace_id, any({column}) AS variant {traces} GROUP BY trace_id) AS t "
               "ON f.trace_id = t.trace_id WHERE f.project_id = {p:String} "
               "AND f.kind = 'thumbs' GROUP BY variant")
    elif metric == "error_rate":
        sql = (f"SELECT {column} AS variant, count() AS n, avg(status = 'error') AS mean, "
               f"0 AS variance {traces} GROUP BY variant")
    else:
        value = "latency_ms" if metric == "latency" else "total_cost"
        sql = (f"SELECT {column} AS variant, count() AS n, avg({value}) AS mean, "
               f"varSamp({value}) AS variance {traces} GROUP BY variant")
    rows = store.rows(sql + " ORDER BY variant", params)
    return [VariantSample(str(r["variant"]), int(r["n"]), float(r["mean"] or 0),
                          _number(r["variance"])) for r in rows if r["variant"] != ""]


def _number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return 0.0
    return out if math.isfinite(out) else 0.0

