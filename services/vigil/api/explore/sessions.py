"""One session: the whole conversation, its calls in order with scores and feedback."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from vigil.api.deps import Project
from vigil.api.explore.scope import Id
from vigil.core.conversation import call_view
from vigil.store.client import Store


def sessions_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/sessions/{session_id}")
    def session(session_id: Id, project_id: Project) -> dict[str, Any]:
        """The whole conversation of a session: its calls in order, with scores and feedback."""
        p = {"p": project_id, "s": session_id}
        calls = [call_view(row) for row in store.rows(
            "SELECT event_id, trace_id, start_time, app, model, prompt_template_version, "
            "status, latency_ms, total_cost, user_id, prompt, completion, "
            "completion_tool_calls, tool_definitions, error_message "
            "FROM traces WHERE project_id = {p:String} AND session_id = {s:String} "
            "ORDER BY start_time, event_id LIMIT 1000", p)]
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

    return router
