"""One session: the whole conversation, its calls in order with scores and feedback."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from vigil.api.deps import Project
from vigil.api.explore.scope import Id
from vigil.core.conversation import CALL_LOG_COLUMNS, call_view, with_logs
from vigil.store.client import Store


def sessions_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/sessions/{session_id}")
    def session(session_id: Id, project_id: Project) -> dict[str, Any]:
        """The whole conversation of a session: its calls in order, with scores and feedback."""
        p = {"p": project_id, "s": session_id}
        rows = store.rows(
            "SELECT event_id, trace_id, start_time, app, model, prompt_template_version, "
            "status, latency_ms, total_cost, user_id, prompt, completion, "
            "completion_tool_calls, tool_definitions, finish_reason, error_message "
            "FROM traces WHERE project_id = {p:String} AND session_id = {s:String} "
            "ORDER BY start_time, event_id LIMIT 1000", p)
        if not rows:
            raise HTTPException(404, f"no session {session_id!r} in this project")
        traces = sorted({c["trace_id"] for c in rows})
        q = {"p": project_id, "ids": traces}
        logs = store.rows(f"SELECT {CALL_LOG_COLUMNS} FROM call_logs WHERE project_id = "
                          "{p:String} AND trace_id IN {ids:Array(String)}", q)
        calls = [call_view(with_logs(row, logs)) for row in rows]
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

    return router
