"""What the dashboard explores: overview, breakdowns, trace search with pagination,
sessions, judge scores, feedback, A/B comparison and the filter values in use.

Every read is scoped to the caller's project and to a time window, and narrowed by
the slice filters; all of them are bound parameters.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from vigil.api.comparison import VariantSample, compare
from vigil.api.deps import Project
from vigil.api.filters import (
    DIMENSIONS,
    EARLIEST,
    LATEST,
    SLICE_COLUMNS,
    TEXT,
    Slice,
    SliceFilter,
    TimeWindow,
    Window,
    base_params,
    in_window,
    sql_time,
)
from vigil.store.client import Store

TRACE_LIST_COLUMNS = (
    "event_id, trace_id, session_id, user_id, start_time, app, environment, provider, model, "
    "prompt_template_id, prompt_template_version, status, error_type, latency_ms, "
    "input_tokens, output_tokens, total_cost")
IN_WINDOW = in_window("start_time")
SCORES_IN_WINDOW = in_window("trace_start_time")
Id = Annotated[str, Path(min_length=1, max_length=TEXT)]

# metric -> (kind, higher is better, what it is)
METRICS = {"score": ("mean", True, "mean judge score"),
           "thumbs_up": ("rate", True, "share of thumbs-up feedback"),
           "error_rate": ("rate", False, "share of calls that failed"),
           "latency": ("mean", False, "mean latency in ms"),
           "cost": ("mean", False, "mean cost per call in USD")}


def explore_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/v1")

    def overview_of(project_id: str, window: Window, where: SliceFilter) -> dict[str, Any]:
        # uniq (an adaptive sketch, exact below ~64k values, then within ~1%) keeps the
        # overview fast on millions of traces; uniqExact took 2.5 s over 10M.
        params = base_params(project_id, window, where)
        traffic = store.rows(
            "SELECT count() AS traces, uniq(trace_id) AS distinct_traces, "
            "uniqIf(session_id, session_id != '') AS sessions, "
            "uniqIf(user_id, user_id != '') AS users, sum(total_cost) AS cost_usd, "
            "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
            "countIf(status = 'error') AS errors, if(count() = 0, 0, errors / count()) "
            "AS error_rate, quantile(0.5)(latency_ms) AS latency_p50_ms, "
            "quantile(0.95)(latency_ms) AS latency_p95_ms, "
            "quantile(0.99)(latency_ms) AS latency_p99_ms "
            f"FROM traces WHERE project_id = {{p:String}} AND {IN_WINDOW}{where.sql()}",
            params)[0]
        quality = store.rows(
            "SELECT count() AS judgments, avgIf(score, error = '' AND score IS NOT NULL) "
            f"AS mean_score FROM scores WHERE project_id = {{p:String}} "
            f"AND {SCORES_IN_WINDOW}{where.sql()}", params)[0]
        feedback = store.rows(
            "SELECT count() AS feedback, countIf(kind = 'thumbs' AND value < 0.5) "
            "AS thumbs_down, countIf(kind = 'thumbs') AS thumbs "
            f"FROM feedback WHERE project_id = {{p:String}} AND {_feedback_scope(where)}",
            params)[0]
        return {**traffic, **quality, **feedback}

    @router.get("/overview")
    def overview(project_id: Project, window: TimeWindow, where: Slice) -> dict[str, Any]:
        """Headline numbers of the window, and of the window of the same length before it."""
        return {"window": window.to_json(), "filters": where.to_json(),
                "current": overview_of(project_id, window, where),
                "previous": overview_of(project_id, window.previous(), where)}

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

    @router.get("/traces")
    def search(
        project_id: Project, window: TimeWindow, where: Slice,
        status: Annotated[str | None, Query(pattern="^(ok|error)$")] = None,
        session_id: Annotated[str | None, Query(max_length=TEXT)] = None,
        user_id: Annotated[str | None, Query(max_length=TEXT)] = None,
        q: Annotated[str | None, Query(max_length=TEXT, description=(
            "Text the prompt or completion contains (case-insensitive)."))] = None,
        min_latency_ms: Annotated[float | None, Query(ge=0, le=1e9)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        cursor: Annotated[str | None, Query(max_length=1000, description=(
            "`next_cursor` of the previous page."))] = None,
    ) -> dict[str, Any]:
        """Calls in the window, newest first, filtered; page on with `next_cursor`."""
        params: dict[str, Any] = {**base_params(project_id, window, where), "n": limit + 1}
        extra = ""
        for name, value in (("status", status), ("session_id", session_id),
                            ("user_id", user_id)):
            if value:
                extra += f" AND {name} = {{{name}:String}}"
                params[name] = value
        if q:
            extra += (" AND (positionCaseInsensitiveUTF8(prompt, {q:String}) > 0 "
                      "OR positionCaseInsensitiveUTF8(completion, {q:String}) > 0)")
            params["q"] = q
        if min_latency_ms is not None:
            extra += " AND latency_ms >= {lat:Float64}"
            params["lat"] = min_latency_ms
        if cursor:
            after_time, after_id = _read_cursor(cursor)
            extra += (" AND (start_time, event_id) < ({ct:DateTime64(3)}, {ce:String})")
            params.update(ct=after_time, ce=after_id)
        rows = store.rows(
            f"SELECT {TRACE_LIST_COLUMNS} FROM traces WHERE project_id = {{p:String}} "
            f"AND {IN_WINDOW}{where.sql()}{extra} "
            "ORDER BY start_time DESC, event_id DESC LIMIT {n:UInt32}", params)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _write_cursor(rows[-1]) if more and rows else None
        return {"traces": rows, "next_cursor": next_cursor, "window": window.to_json(),
                "filters": where.to_json()}

    @router.get("/sessions/{session_id}")
    def session(session_id: Id, project_id: Project) -> dict[str, Any]:
        """The whole conversation of a session: its calls in order, with scores and feedback."""
        p = {"p": project_id, "s": session_id}
        calls = store.rows(
            "SELECT event_id, trace_id, start_time, app, model, prompt_template_version, "
            "status, latency_ms, total_cost, user_id, prompt, completion, error_message "
            "FROM traces WHERE project_id = {p:String} AND session_id = {s:String} "
            "ORDER BY start_time, event_id LIMIT 1000", p)
        if not calls:
            raise HTTPException(404, f"no session {session_id!r} in this project")
        traces = sorted({c["trace_id"] for c in calls})
        q = {"p": project_id, "ids": traces}
        scores = store.rows(
            "SELECT trace_id, event_id, evaluator, score, label, rationale, error FROM scores "
            "WHERE project_id = {p:String} AND trace_id IN {ids:Array(String)} "
            "ORDER BY trace_id, evaluator", q)
        feedback = store.rows(
            "SELECT trace_id, feedback_id, kind, value, comment, user_id, time FROM feedback "
            "WHERE project_id = {p:String} AND trace_id IN {ids:Array(String)} ORDER BY time",
            q)
        return {"session_id": session_id, "calls": calls, "scores": scores,
                "feedback": feedback}

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

    @router.get("/feedback")
    def feedback(
        project_id: Project, window: TimeWindow, where: Slice,
        kind: Annotated[str | None, Query(max_length=TEXT)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """User feedback in the window, newest first."""
        params = {**base_params(project_id, window, where), "k": kind or "", "n": limit}
        rows = store.rows(
            "SELECT feedback_id, trace_id, time, kind, value, comment, user_id FROM feedback "
            f"WHERE project_id = {{p:String}} AND {_feedback_scope(where)} "
            "AND ({k:String} = '' OR kind = {k:String}) ORDER BY time DESC LIMIT {n:UInt32}",
            params)
        return {"window": window.to_json(), "feedback": rows}

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

    @router.get("/slices")
    def slices(project_id: Project, window: TimeWindow) -> dict[str, Any]:
        """The values each slice filter can take in the window (for filter pickers)."""
        row = store.rows(
            "SELECT " + ", ".join(f"groupUniqArray(200)({c}) AS {n}"
                                  for n, c in SLICE_COLUMNS.items())
            + f" FROM traces WHERE project_id = {{p:String}} AND {IN_WINDOW}",
            {"p": project_id, **window.params()})[0]
        return {name: sorted(v for v in row[name] if v) for name in SLICE_COLUMNS}

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


def _feedback_scope(where: SliceFilter) -> str:
    """Feedback in the window; with slice filters, only on traces of that slice."""
    scope = in_window("time")
    if where.values:
        scope += (" AND trace_id IN (SELECT trace_id FROM traces WHERE project_id = "
                  f"{{p:String}} AND {IN_WINDOW}{where.sql()})")
    return scope


def _write_cursor(row: dict[str, Any]) -> str:
    start = row["start_time"]
    start = start.isoformat() if isinstance(start, datetime) else str(start)
    raw = json.dumps([start, row["event_id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        start, event_id = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(start, str) or not isinstance(event_id, str):
            raise ValueError("cursor fields are not strings")
        after = datetime.fromisoformat(start)
        if after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        if not EARLIEST <= after <= LATEST:
            raise ValueError("cursor time out of range")
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise HTTPException(400, "bad 'cursor': pass the 'next_cursor' of the previous page "
                                 "unchanged") from exc
    return sql_time(after), event_id


def _number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return 0.0
    return out if math.isfinite(out) else 0.0

