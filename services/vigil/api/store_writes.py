"""`POST /internal/store/{table}`: the write path of sinks that do not own the store.

Served by the sink that owns the embedded store, behind VIGIL_INTERNAL_TOKEN.
The body is the table's rows as JSON lines, the `x-vigil-insert-token` header
the batch's insert token. Each line is checked against the table's columns,
then the owner's `LocalStoreWriter` skips the ids already stored and inserts
the rest under the same lock the owner's own sink writes with, so two sinks
sending the same rows at once store them once. Answers
`{"written": n, "skipped": m}`; bad input is a 4xx with the reason (422 when the
store itself refuses the rows: the sender dead-letters them), any other store failure
a 503 (the sender retries).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from vigil.api.internal import service_auth
from vigil.events.wire import PayloadError
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import STORE_OWNER_ROWS
from vigil.store.tables import SPECS, Line, TableSpec, table_line
from vigil.store.writer import RowsRefused, StoreWriter

log = get_logger(__name__)
MAX_TOKEN_CHARS = 200


def store_writes_router(writer: StoreWriter, token: str, max_body_bytes: int) -> APIRouter:
    router = APIRouter(prefix="/internal", include_in_schema=False)

    @router.post("/store/{table}", dependencies=[Depends(service_auth(token))])
    async def write(table: str, request: Request,
                    x_vigil_insert_token: Annotated[str | None, Header()] = None
                    ) -> dict[str, Any]:
        """Store the rows of one table the owner does not hold yet."""
        spec = SPECS.get(table)
        if spec is None:
            raise HTTPException(404, f"no table {table!r}; the sink writes "
                                f"{', '.join(sorted(SPECS))}")
        if not x_vigil_insert_token or len(x_vigil_insert_token) > MAX_TOKEN_CHARS:
            raise HTTPException(400, "the x-vigil-insert-token header (the batch's insert "
                                f"token, at most {MAX_TOKEN_CHARS} characters) is required")
        lines = parse_lines(spec, await read_body(request, max_body_bytes))
        try:
            result = await run_in_threadpool(writer.write, spec, lines, x_vigil_insert_token)
        except RowsRefused as exc:  # the rows themselves: the same rows fail again
            log.warning("store refused the rows", table=table, rows=len(lines),
                        error=str(exc)[:500])
            raise HTTPException(422, f"the store refused the rows of {table}: "
                                f"{str(exc)[:300]}") from exc
        except Exception as exc:  # the store failed: transient for the sender
            log.warning("store write failed", table=table, rows=len(lines),
                        error=str(exc)[:500])
            raise HTTPException(503, "the store did not take the rows; retry",
                                headers={"Retry-After": "1"}) from exc
        STORE_OWNER_ROWS.labels(table, "written").inc(result.written)
        STORE_OWNER_ROWS.labels(table, "skipped").inc(result.skipped)
        return {"table": table, "written": result.written, "skipped": result.skipped}

    return router


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes is over the limit of {limit} "
                            "(VIGIL_STORE_WRITE_MAX_BYTES)")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise HTTPException(413, f"body is over the limit of {limit} bytes "
                                "(VIGIL_STORE_WRITE_MAX_BYTES)")
    if not body.strip():
        raise HTTPException(400, "empty body: send the rows as JSON lines")
    return bytes(body)


def parse_lines(spec: TableSpec, body: bytes) -> list[Line]:
    """Each line as a checked row of the table; 400 naming the first bad line."""
    lines = []
    for n, raw in enumerate(body.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
            if not isinstance(record, dict):
                raise PayloadError("not a JSON object")
            lines.append(table_line(spec, raw, record))
        except (orjson.JSONDecodeError, PayloadError) as exc:
            raise HTTPException(400, f"line {n}: {str(exc)[:300]}") from exc
    return lines
