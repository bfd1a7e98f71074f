"""User feedback in a window, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from vigil.api.deps import Project
from vigil.api.explore.scope import feedback_scope
from vigil.api.filters import TEXT, Slice, TimeWindow, base_params
from vigil.store.client import Store


def feedback_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/v1")

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
            f"WHERE project_id = {{p:String}} AND {feedback_scope(where)} "
            "AND ({k:String} = '' OR kind = {k:String}) ORDER BY time DESC LIMIT {n:UInt32}",
            params)
        return {"window": window.to_json(), "feedback": rows}

    return router
