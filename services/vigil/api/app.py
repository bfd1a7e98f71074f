"""HTTP/JSON read API over the store. API keys decide the project a caller sees.

In the embedded mode the sink process serves it (it owns the store); in
production it runs as its own deployment (`vigil api`) against ClickHouse.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from vigil.auth import KeyRing
from vigil.store.client import Store


def caller_project(request: Request,
                   authorization: Annotated[str | None, Header()] = None) -> str:
    """The project of the caller's API key; 401 without a known key."""
    keyring: KeyRing = request.app.state.keyring
    scheme, _, token = (authorization or "").partition(" ")
    found = keyring.project_for_key(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise HTTPException(401, "missing or unknown API key: send 'Authorization: Bearer <key>'")
    return found


Project = Annotated[str, Depends(caller_project)]


def create_app(store: Store, keyring: KeyRing) -> FastAPI:
    app = FastAPI(title="Vigil read API", version="1")
    app.state.keyring = keyring

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
    def trace(trace_id: str, project_id: Project) -> dict[str, Any]:
        """The calls of one trace, with the feedback given on it."""
        p = {"p": project_id, "t": trace_id}
        calls = store.rows(
            "SELECT * EXCEPT (raw_partition, raw_offset) FROM traces "
            "WHERE project_id = {p:String} AND trace_id = {t:String} ORDER BY start_time", p)
        if not calls:
            raise HTTPException(404, f"no trace {trace_id!r} in this project")
        feedback = store.rows(
            "SELECT feedback_id, kind, value, comment, user_id, time FROM feedback "
            "WHERE project_id = {p:String} AND trace_id = {t:String} ORDER BY time", p)
        return {"trace_id": trace_id, "calls": calls, "feedback": feedback}

    @app.get("/v1/traces")
    def recent(project_id: Project,
               limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
        rows = store.rows(
            "SELECT event_id, trace_id, start_time, app, model, status, latency_ms, "
            "input_tokens, output_tokens, total_cost FROM traces "
            "WHERE project_id = {p:String} ORDER BY start_time DESC LIMIT {n:UInt32}",
            {"p": project_id, "n": limit})
        return {"traces": rows}

    return app
