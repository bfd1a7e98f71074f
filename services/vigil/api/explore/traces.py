"""Trace search: the calls of a window, newest first, filtered, paged with a cursor."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from vigil.api.deps import Project
from vigil.api.explore.scope import IN_WINDOW
from vigil.api.filters import EARLIEST, LATEST, TEXT, Slice, TimeWindow, base_params, sql_time
from vigil.store.client import Store

TRACE_LIST_COLUMNS = (
    "event_id, trace_id, session_id, user_id, start_time, app, environment, provider, model, "
    "prompt_template_id, prompt_template_version, status, error_type, latency_ms, "
    "input_tokens, output_tokens, total_cost")


def traces_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/v1")

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

    return router


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
