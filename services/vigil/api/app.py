"""HTTP/JSON read API over the store. API keys decide the project a caller sees.

In the embedded mode the sink process serves it (it owns the store); in
production it runs as its own deployment (`vigil api`) against ClickHouse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Annotated, Any

from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from vigil.access.keyring import KeyRing
from vigil.access.ratelimit import RateLimiter
from vigil.api.budgets import budgets_router
from vigil.api.deps import Project
from vigil.api.explore import explore_router
from vigil.api.filters import SLICE_COLUMNS as SLICES
from vigil.api.filters import Slice, TimeWindow, base_params, in_window
from vigil.api.internal import internal_router
from vigil.api.prompt_registry import PromptRegistry
from vigil.api.prompts import prompts_router
from vigil.api.store_writes import store_writes_router
from vigil.api.tickets import tickets_router
from vigil.core.budgets import Budget
from vigil.core.conversation import CALL_LOG_COLUMNS, call_view, with_logs
from vigil.runtime.logs import get_logger
from vigil.store.client import Store
from vigil.store.writer import LocalStoreWriter, StoreWriter

log = get_logger(__name__)
SERIES = {
    "quality": ("scores", "trace_start_time",
                "count() AS judgments, countIf(error != '') AS judge_errors, "
                "avgIf(score, error = '') AS mean_score"),
    "feedback": ("feedback", "time",
                 "count() AS feedback, countIf(kind = 'thumbs' AND value < 0.5) AS thumbs_down, "
                 "avgIf(value, kind IN ('thumbs', 'score')) AS mean_value"),
    "traffic": ("traces", "start_time",
                "count() AS traces, sum(total_cost) AS cost_usd, countIf(status = 'error') AS "
                "errors, quantile(0.95)(latency_ms) AS latency_p95_ms"),
}


class FiniteJSONResponse(JSONResponse):
    """JSON where NaN and infinities (an average over no rows) become null."""

    def render(self, content: Any) -> bytes:
        return json.dumps(_finite(content), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode()


def create_app(store: Store, keyring: KeyRing, internal_token: str = "",
               budgets: Sequence[Budget] = (), limiter: RateLimiter | None = None,
               store_writer: StoreWriter | None = None,
               store_write_max_bytes: int = 32 * 1024 * 1024) -> FastAPI:
    """The read API; with `store_writer` (the store owner's), also the internal write
    endpoint other sinks write through (vigil.api.store_writes). The prompt registry's
    writes go through that writer too, or through one of this process's own when it
    owns no sink's (`vigil api` against a ClickHouse server)."""
    app = FastAPI(title="Vigil read API", version="1", default_response_class=FiniteJSONResponse,
                  description="Read API of Vigil: every route but /health and /metrics takes "
                              "`Authorization: Bearer <API key>` and sees the key's project "
                              "only.")
    app.state.keyring = keyring
    app.state.limiter = limiter  # per key, in requests (vigil.api.deps)
    app.include_router(internal_router(store, internal_token))
    if store_writer is not None:
        app.include_router(store_writes_router(store_writer, internal_token,
                                               store_write_max_bytes))
    writer = store_writer or LocalStoreWriter(store)  # every API write goes through it
    app.include_router(tickets_router(store, writer))
    app.include_router(explore_router(store))
    app.include_router(budgets_router(store, budgets))
    registry = PromptRegistry(store, writer)
    app.include_router(prompts_router(registry))

    @app.exception_handler(ClickHouseError)
    def store_failed(request: Request, exc: ClickHouseError) -> JSONResponse:
        log.warning("store query failed", path=request.url.path, error=str(exc)[:500])
        return JSONResponse({"detail": "the store could not answer this query; it may be "
                                       "starting or overloaded: retry shortly"},
                            status_code=503, headers={"Retry-After": "5"})

    @app.get("/health")
    def health() -> dict[str, str]:
        store.query("SELECT 1")
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/stats")
    def stats(project_id: Project) -> dict[str, Any]:
        """Counts and cost of the project's traces, overall and by model, plus feedback."""
        p = {"p": project_id}
        totals = store.rows(
            "SELECT count() AS traces, uniqExact(event_id) AS distinct_event_ids, "
            "sum(total_cost) AS cost_usd, countIf(status = 'error') AS errors, "
            "countIf(NOT cost_known) AS unpriced, countIf(tokens_estimated) AS tokens_estimated, "
            "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
            "toString(max(stored_at)) AS last_stored_at "
            "FROM traces WHERE project_id = {p:String}", p)[0]
        by_model = store.rows(
            "SELECT provider, model, count() AS traces, sum(total_cost) AS cost_usd, "
            "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
            "quantile(0.95)(latency_ms) AS latency_p95_ms "
            "FROM traces WHERE project_id = {p:String} GROUP BY provider, model "
            "ORDER BY cost_usd DESC", p)
        feedback = store.rows(
            "SELECT count() AS feedback, uniqExact(feedback_id) AS distinct_feedback_ids "
            "FROM feedback WHERE project_id = {p:String}", p)[0]
        return {"project_id": project_id, **totals, **feedback, "by_model": by_model}

    @app.get("/v1/traces/{trace_id}")
    def trace(trace_id: Annotated[str, Path(max_length=128)], project_id: Project
              ) -> dict[str, Any]:
        """The calls of one trace (each with its `messages`: the conversation in the chat
        format, tool calls and tool results included), the feedback given on it, its
        scores and its other spans."""
        p = {"p": project_id, "t": trace_id}
        rows = store.rows(
            "SELECT * EXCEPT (raw_partition, raw_offset) FROM traces "
            "WHERE project_id = {p:String} AND trace_id = {t:String} ORDER BY start_time", p)
        if not rows:
            raise HTTPException(404, f"no trace {trace_id!r} in this project")
        logs = store.rows(f"SELECT {CALL_LOG_COLUMNS} FROM call_logs "
                          "WHERE project_id = {p:String} AND trace_id = {t:String}", p)
        calls = [call_view(with_logs(row, logs)) for row in rows]
        feedback = store.rows(
            "SELECT feedback_id, kind, value, comment, user_id, time FROM feedback "
            "WHERE project_id = {p:String} AND trace_id = {t:String} ORDER BY time", p)
        scores = store.rows(
            "SELECT event_id, evaluator, evaluator_version, score, label, rationale, error, "
            "sample_reason, judge_model, judge_cost, judge_latency_ms, judged_at FROM scores "
            "WHERE project_id = {p:String} AND trace_id = {t:String} "
            "ORDER BY evaluator, event_id", p)
        spans = store.rows(
            "SELECT span_id, parent_span_id, name, kind, start_time, end_time, duration_ms, "
            "status, status_message, attributes FROM spans "
            "WHERE project_id = {p:String} AND trace_id = {t:String} ORDER BY start_time", p)
        return {"trace_id": trace_id, "calls": calls, "feedback": feedback, "scores": scores,
                "spans": spans}

    @app.get("/v1/timeseries/{metric}")
    def timeseries(
        metric: Annotated[str, Path(pattern="^(quality|feedback|traffic)$")],
        project_id: Project, window: TimeWindow, where: Slice,
        interval: Annotated[str, Query(pattern="^(minute|hour|day)$")] = "hour",
        group_by: Annotated[str | None, Query(pattern=f"^({'|'.join(SLICES)})$")] = None,
        evaluator: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """Per-interval series of judge scores, user feedback or traffic, by slice."""
        table, time_column, values = SERIES[metric]
        if metric == "feedback" and (group_by or where.values):
            raise HTTPException(400, "feedback series cannot be sliced: feedback is given on "
                                     "traces; use /v1/compare?metric=thumbs_up per slice")
        if window.seconds / _SECONDS[interval] > MAX_POINTS:
            raise HTTPException(400, f"{interval} buckets over this window give more than "
                                     f"{MAX_POINTS} points: use a coarser interval")
        slice_column = SLICES[group_by] if group_by else "''"
        only_evaluator = "AND evaluator = {e:String}" if metric == "quality" and evaluator else ""
        rows = store.rows(
            f"SELECT toStartOfInterval({time_column}, INTERVAL 1 {interval}) AS bucket, "
            f"{slice_column} AS slice, {values} FROM {table} "
            f"WHERE project_id = {{p:String}} AND {in_window(time_column)}{where.sql()} "
            f"{only_evaluator} "
            "GROUP BY bucket, slice ORDER BY bucket, slice",
            {**base_params(project_id, window, where), "e": evaluator or ""})
        return {"metric": metric, "interval": interval, "group_by": group_by,
                "window": window.to_json(), "filters": where.to_json(), "points": rows}

    @app.get("/v1/judge/sampling")
    def judge_sampling(
        project_id: Project, window: TimeWindow, where: Slice,
        group_by: Annotated[str, Query(pattern=f"^({'|'.join(SLICES)})$")] = "model",
    ) -> dict[str, Any]:
        """Judged / eligible / skipped-for-budget per slice: how much was really scored."""
        rows = store.rows(
            f"SELECT {SLICES[group_by]} AS slice, sum(eligible) AS eligible, "
            "sum(judged) AS judged, sum(judged_by_rule) AS judged_by_rule, "
            "sum(skipped_budget) AS skipped_budget, "
            "if(eligible = 0, 0, judged / eligible) AS judged_share "
            "FROM judge_sampling WHERE project_id = {p:String} "
            f"AND {in_window('minute')}{where.sql()} "
            "GROUP BY slice ORDER BY slice", base_params(project_id, window, where))
        return {"group_by": group_by, "slices": rows}

    return app


MAX_POINTS = 5000
_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
