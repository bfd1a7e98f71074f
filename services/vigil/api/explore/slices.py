"""The values each slice filter can take in a window (for filter pickers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vigil.api.deps import Project
from vigil.api.explore.scope import IN_WINDOW
from vigil.api.filters import SLICE_COLUMNS, TimeWindow
from vigil.store.client import Store


def slices_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/v1")

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
