"""Internal read endpoints for other Vigil services (the analyzer), across projects.

They need `Authorization: Bearer <VIGIL_INTERNAL_TOKEN>`; without a configured
token they are off (404). Parameterised queries only.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request

from vigil.core.conversation import CALL_LOG_COLUMNS, with_logs
from vigil.store.client import Store

SERIES_SQL = """
SELECT t.project_id AS project_id, t.app AS app, t.model AS model,
       toString(t.minute) AS minute, t.traces AS traces, t.cost_usd AS cost_usd,
       t.latency_p95_ms AS latency_p95_ms, t.errors AS errors,
       s.judgments AS judgments, s.mean_score AS mean_score,
       f.feedback AS feedback, f.negative AS negative_feedback
FROM (
    SELECT project_id, app, model, toStartOfMinute(start_time) AS minute, count() AS traces,
           sum(total_cost) AS cost_usd, quantile(0.95)(latency_ms) AS latency_p95_ms,
           countIf(status = 'error') AS errors
    FROM traces
    WHERE start_time >= parseDateTime64BestEffort({since:String}, 3)
      AND start_time < parseDateTime64BestEffort({until:String}, 3)
    GROUP BY project_id, app, model, minute
) AS t
LEFT JOIN (
    SELECT project_id, app, model, toStartOfMinute(trace_start_time) AS minute,
           countIf(error = '') AS judgments, avgIf(score, error = '') AS mean_score
    FROM scores
    WHERE trace_start_time >= parseDateTime64BestEffort({since:String}, 3)
      AND trace_start_time < parseDateTime64BestEffort({until:String}, 3)
    GROUP BY project_id, app, model, minute
) AS s USING (project_id, app, model, minute)
LEFT JOIN (
    SELECT tr.project_id AS project_id, tr.app AS app, tr.model AS model,
           toStartOfMinute(tr.start_time) AS minute, count() AS feedback,
           countIf(fb.value < 0.5 AND fb.kind IN ('thumbs', 'score')) AS negative
    FROM feedback AS fb
    INNER JOIN traces AS tr ON tr.project_id = fb.project_id AND tr.trace_id = fb.trace_id
    WHERE tr.start_time >= parseDateTime64BestEffort({since:String}, 3)
      AND tr.start_time < parseDateTime64BestEffort({until:String}, 3)
    GROUP BY project_id, app, model, minute
) AS f USING (project_id, app, model, minute)
ORDER BY project_id, app, model, minute
"""

EXAMPLES_SQL = """
SELECT t.trace_id AS trace_id, t.event_id AS event_id, t.prompt AS prompt,
       t.completion AS completion, t.completion_tool_calls AS completion_tool_calls,
       t.tool_definitions AS tool_definitions, toString(t.start_time) AS start_time,
       s.min_score AS score, f.note AS feedback
FROM traces AS t
LEFT JOIN (
    SELECT event_id, min(score) AS min_score FROM scores
    WHERE project_id = {p:String} AND error = '' GROUP BY event_id
) AS s ON s.event_id = t.event_id
LEFT JOIN (
    SELECT trace_id, argMin(concat(kind, ' ', toString(value), ' ', comment), value) AS note
    FROM feedback WHERE project_id = {p:String} GROUP BY trace_id
) AS f ON f.trace_id = t.trace_id
WHERE t.project_id = {p:String} AND t.app = {app:String} AND t.model = {model:String}
  AND t.start_time >= parseDateTime64BestEffort({since:String}, 3)
  AND t.start_time < parseDateTime64BestEffort({until:String}, 3)
  AND (s.min_score < {max_score:Float64} OR f.note LIKE '% 0 %' OR f.note LIKE 'thumbs 0%')
ORDER BY s.min_score ASC NULLS LAST
LIMIT {limit:UInt32}
"""


SAMPLE_SQL = """
SELECT input_tokens, output_tokens, latency_ms, total_cost, length(prompt) AS prompt_chars,
       length(completion) AS completion_chars, finish_reason, status,
       substring(prompt, 1, 2000) AS prompt_text
FROM traces
WHERE project_id = {p:String} AND app = {app:String} AND model = {model:String}
  AND start_time >= parseDateTime64BestEffort({since:String}, 3)
  AND start_time < parseDateTime64BestEffort({until:String}, 3)
ORDER BY cityHash64(event_id) LIMIT {n:UInt32}
"""


def series_rows(store: Store, since: str, until: str) -> list[dict[str, Any]]:
    return store.rows(SERIES_SQL, {"since": since, "until": until})


def sample_rows(store: Store, project_id: str, app: str, model: str, since: str, until: str,
                limit: int) -> list[dict[str, Any]]:
    return store.rows(SAMPLE_SQL, {"p": project_id, "app": app, "model": model,
                                   "since": since, "until": until, "n": limit})


def service_auth(token: str) -> Callable[..., None]:
    """A dependency admitting only `Authorization: Bearer <token>` (404 without a token)."""

    def service(request: Request, authorization: Annotated[str | None, Header()] = None
                ) -> None:
        scheme, _, given = (authorization or "").partition(" ")
        if not token:
            raise HTTPException(404, "internal endpoints are off (VIGIL_INTERNAL_TOKEN unset)")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
            raise HTTPException(401, "internal endpoints need the service token")

    return service


def internal_router(store: Store, token: str) -> APIRouter:
    router = APIRouter(prefix="/internal", include_in_schema=False)
    service = service_auth(token)

    @router.get("/analysis/series", dependencies=[Depends(service)])
    def series(since: str, until: str) -> dict[str, Any]:
        """Per-minute metrics per (project, app, model) in [since, until)."""
        return {"points": series_rows(store, since, until)}

    @router.get("/analysis/examples", dependencies=[Depends(service)])
    def examples(project_id: str, app: str, model: str, since: str, until: str,
                 max_score: Annotated[float, Query(ge=0, le=1)] = 0.5,
                 limit: Annotated[int, Query(ge=1, le=10_000)] = 500) -> dict[str, Any]:
        """The slice's traces with low judge scores or negative feedback, worst first (a
        call whose messages came as OTLP log records with them)."""
        rows = store.rows(EXAMPLES_SQL, {
            "p": project_id, "app": app, "model": model, "since": since, "until": until,
            "max_score": max_score, "limit": limit})
        logs = store.rows(
            f"SELECT {CALL_LOG_COLUMNS} FROM call_logs WHERE project_id = {{p:String}} "
            "AND event_id IN {ids:Array(String)}",
            {"p": project_id, "ids": [r["event_id"] for r in rows]}) if rows else []
        return {"examples": [with_logs(r, logs) for r in rows]}

    @router.get("/analysis/spend", dependencies=[Depends(service)])
    def spend(project_id: str, since: str, until: str, app: str = "", user_id: str = ""
              ) -> dict[str, Any]:
        """Spend of a project (or one app / one user of it) since the period began, and
        in the last hour, for budgets."""
        return store.rows(
            "SELECT sum(total_cost) AS cost_usd, sumIf(total_cost, start_time >= "
            "parseDateTime64BestEffort({until:String}, 3) - INTERVAL 1 HOUR) AS "
            "last_hour_cost_usd FROM traces WHERE project_id = {p:String} "
            "AND ({app:String} = '' OR app = {app:String}) "
            "AND ({u:String} = '' OR user_id = {u:String}) "
            "AND start_time >= parseDateTime64BestEffort({since:String}, 3) "
            "AND start_time < parseDateTime64BestEffort({until:String}, 3)",
            {"p": project_id, "app": app, "u": user_id, "since": since, "until": until})[0]

    @router.get("/analysis/sample", dependencies=[Depends(service)])
    def sample(project_id: str, app: str, model: str, since: str, until: str,
               limit: Annotated[int, Query(ge=1, le=20_000)] = 2000) -> dict[str, Any]:
        """A random sample of a slice's traces in [since, until), the drift features."""
        return {"rows": sample_rows(store, project_id, app, model, since, until, limit)}

    @router.get("/tickets/states", dependencies=[Depends(service)])
    def ticket_states() -> dict[str, Any]:
        """The current status of every ticket (its latest version), all projects."""
        return {"tickets": store.rows(
            "SELECT dedupe_key, ticket_id, status FROM tickets "
            "ORDER BY updated_at DESC, stored_at DESC LIMIT 1 BY ticket_id")}

    return router
