"""The window and slice scope the explorer's reads share; every value is a bound parameter."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from vigil.api.filters import TEXT, SliceFilter, in_window

IN_WINDOW = in_window("start_time")
SCORES_IN_WINDOW = in_window("trace_start_time")
Id = Annotated[str, Path(min_length=1, max_length=TEXT)]


def feedback_scope(where: SliceFilter) -> str:
    """Feedback in the window; with slice filters, only on traces of that slice."""
    scope = in_window("time")
    if where.values:
        scope += (" AND trace_id IN (SELECT trace_id FROM traces WHERE project_id = "
                  f"{{p:String}} AND {IN_WINDOW}{where.sql()})")
    return scope
