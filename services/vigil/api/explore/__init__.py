"""What the dashboard explores: overview, breakdowns, trace search with pagination,
sessions, judge scores, feedback, A/B comparison and the filter values in use.

Every read is scoped to the caller's project and to a time window, and narrowed by
the slice filters; all of them are bound parameters. One module per resource, each a
small router; `explore_router` assembles them in the order the API lists them.
"""

from __future__ import annotations

from fastapi import APIRouter

from vigil.api.explore.breakdown import breakdown_router
from vigil.api.explore.compare import compare_router
from vigil.api.explore.feedback import feedback_router
from vigil.api.explore.overview import overview_router
from vigil.api.explore.scores import scores_router
from vigil.api.explore.sessions import sessions_router
from vigil.api.explore.slices import slices_router
from vigil.api.explore.traces import traces_router
from vigil.store.client import Store

_RESOURCES = (overview_router, breakdown_router, traces_router, sessions_router,
              scores_router, feedback_router, compare_router, slices_router)


def explore_router(store: Store) -> APIRouter:
    router = APIRouter()
    for resource in _RESOURCES:
        router.include_router(resource(store))
    return router
