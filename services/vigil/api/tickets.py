"""Alerts and retraining tickets in the read API: list, detail, acknowledge/resolve,
dataset download (fine-tuning JSONL or CSV). A key sees its own project only."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from vigil.api.deps import Project, Writer
from vigil.api.filters import Slice, SliceFilter, TimeWindow, base_params, in_window
from vigil.core.tickets import TicketExample, dataset_csv, finetune_jsonl
from vigil.store.client import Store
from vigil.store.tables import TICKETS, table_line
from vigil.store.writer import StoreWriter

LATEST = ("SELECT * FROM tickets WHERE project_id = {p:String} "
          "ORDER BY updated_at DESC, stored_at DESC LIMIT 1 BY ticket_id")
_NEXT = {"acknowledge": ("open", "acknowledged"), "resolve": ("open", "resolved"),
         "resolve-acknowledged": ("acknowledged", "resolved")}


def tickets_router(store: Store, writer: StoreWriter) -> APIRouter:
    """`writer` is the store owner's one write path (the sink's, in the process that owns
    the store): a ticket's new status is one more version row of the tickets table."""
    router = APIRouter(prefix="/v1")

    @router.get("/alerts")
    def alerts(project_id: Project, status: Annotated[str | None, Query(
            pattern="^(firing|resolved)$")] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """Alert events, newest first."""
        rows = store.rows(
            "SELECT * EXCEPT (stored_at) FROM alerts WHERE project_id = {p:String} "
            "AND ({s:String} = '' OR status = {s:String}) ORDER BY event_time DESC "
            "LIMIT {n:UInt32}", {"p": project_id, "s": status or "", "n": limit})
        return {"alerts": rows}

    @router.get("/tickets")
    def tickets(project_id: Project, status: Annotated[str | None, Query(
            pattern="^(open|acknowledged|resolved)$")] = None) -> dict[str, Any]:
        rows = [_brief(r) for r in store.rows(LATEST, {"p": project_id})
                if status is None or r["status"] == status]
        return {"tickets": rows}

    @router.get("/tickets/{ticket_id}")
    def ticket(ticket_id: str, project_id: Project) -> dict[str, Any]:
        return _full(_latest(store, project_id, ticket_id))

    @router.post("/tickets/{ticket_id}/{action}")
    def change(ticket_id: str, who: Writer,
               action: Annotated[str, Path(pattern="^(acknowledge|resolve)$")]
               ) -> dict[str, Any]:
        """Acknowledge or resolve a ticket (needs a key with scope write)."""
        project_id = who.project
        row = _latest(store, project_id, ticket_id)
        to = "acknowledged" if action == "acknowledge" else "resolved"
        if row["status"] == to or (row["status"] == "resolved"):
            raise HTTPException(409, f"the ticket is {row['status']}; it cannot be {to}")
        now = datetime.now(UTC).isoformat()
        new = {**_as_row(row), "status": to, "updated_at": now,
               "version_id": str(uuid.uuid4())}
        line = table_line(TICKETS, json.dumps(new).encode(), new)
        writer.write(TICKETS, [line], f"{project_id}:{ticket_id}:{new['version_id']}")
        return _full(_latest(store, project_id, ticket_id))

    @router.get("/tickets/{ticket_id}/dataset")
    def dataset(ticket_id: str, project_id: Project,
                format: Annotated[str, Query(pattern="^(jsonl|csv)$")] = "jsonl"
                ) -> Response:
        """The ticket's candidate examples as chat fine-tuning JSONL or CSV (PII masked)."""
        row = _latest(store, project_id, ticket_id)
        examples = [TicketExample(**e) for e in json.loads(row["examples"])]
        body = finetune_jsonl(examples) if format == "jsonl" else dataset_csv(examples)
        media = "application/jsonl" if format == "jsonl" else "text/csv"
        return Response(body, media_type=media, headers={
            "content-disposition": f'attachment; filename="ticket-{ticket_id}.{format}"'})

    @router.get("/drift/reports")
    def drift_reports(project_id: Project,
                      hours: Annotated[float, Query(gt=0, le=24 * 90)] = 24,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """Drift analyses, newest first (without the evidently HTML)."""
        rows = store.rows(
            "SELECT report_id, run_at, app, model, reference_start, reference_end, "
            "current_start, current_end, drifted_features, report, "
            "html_parts > 0 AS has_html FROM drift_reports "
            "WHERE project_id = {p:String} AND run_at >= now64(3) - toIntervalSecond({s:UInt64}) "
            "ORDER BY run_at DESC LIMIT {n:UInt32}",
            {"p": project_id, "s": int(hours * 3600), "n": limit})
        for r in rows:
            r["report"] = json.loads(r["report"])
        return {"reports": rows}

    @router.get("/drift/features")
    def drift_features(project_id: Project, window: TimeWindow, where: Slice,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
        """Per-feature drift of each analysis in the window, oldest first: one point per
        (run, app, model, feature) with its effect size, PSI and verdict. Drift is analysed
        per app and model, so those are the slice filters that apply."""
        where = SliceFilter({k: v for k, v in where.values.items() if k in ("app", "model")})
        rows = store.rows(
            "SELECT run_at, app, model, report FROM drift_reports "
            f"WHERE project_id = {{p:String}} AND {in_window('run_at')}{where.sql()} "
            "ORDER BY run_at DESC "
            "LIMIT {n:UInt32}", {**base_params(project_id, window, where), "n": limit})
        points = []
        for r in reversed(rows):
            for feature in json.loads(r["report"]).get("features", []):
                points.append({"run_at": r["run_at"], "app": r["app"], "model": r["model"],
                               **{k: feature.get(k) for k in (
                                   "feature", "kind", "test", "p_adjusted", "effect",
                                   "effect_size", "psi", "drifted", "skipped")}})
        return {"window": window.to_json(), "points": points}

    @router.get("/drift/reports/{report_id}/html")
    def drift_html(report_id: str, project_id: Project) -> Response:
        """The evidently report of a drift analysis, as HTML."""
        parts = store.rows(
            "SELECT part, any(data) AS data FROM drift_report_html "
            "WHERE project_id = {p:String} AND report_id = {r:String} "
            "GROUP BY part ORDER BY part", {"p": project_id, "r": report_id})
        expected = store.rows(
            "SELECT html_parts FROM drift_reports WHERE project_id = {p:String} "
            "AND report_id = {r:String} LIMIT 1", {"p": project_id, "r": report_id})
        if not parts or not expected or len(parts) != expected[0]["html_parts"]:
            raise HTTPException(404, "no (complete) evidently report for this drift analysis")
        packed = "".join(p["data"] for p in parts)
        return Response(gzip.decompress(base64.b64decode(packed)), media_type="text/html")

    return router


def _latest(store: Store, project_id: str, ticket_id: str) -> dict[str, Any]:
    rows = store.rows(
        "SELECT * FROM tickets WHERE project_id = {p:String} AND ticket_id = {t:String} "
        "ORDER BY updated_at DESC, stored_at DESC LIMIT 1", {"p": project_id, "t": ticket_id})
    if not rows:
        raise HTTPException(404, f"no ticket {ticket_id!r} in this project")
    return rows[0]


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("ticket_id", "status", "signal", "title", "slice", "window_start", "window_end",
            "dataset_size", "opened_at", "updated_at", "reopened")
    return {k: _plain(row[k]) for k in keep}


def _full(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: _plain(v) for k, v in row.items() if k not in ("stored_at", "version_id")}
    out["examples"] = json.loads(row["examples"])
    out["drift_report"] = json.loads(row["drift_report"] or "{}")
    return out


def _as_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(row[k]) for k in TICKETS.columns}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
