"""A `StoreWriter` that writes through the store owner's read API.

Used by a sink that does not own the embedded store (VIGIL_STORE_WRITER_URL
set): each table's rows go as one JSON-lines body to
`POST {url}/internal/store/{table}` with the service token and the batch's
insert token; the owner deduplicates and inserts under its lock and answers
`{"written": n, "skipped": m}`. An owner that is unreachable or answers anything
but a 2xx raises `StoreWriteRefused`, a store outage (StoreUnavailable): the sink keeps
its offsets, pauses and retries the batch, which is harmless because the owner skips
rows it already holds. A 400, 413 or 422 says the rows themselves are wrong
(RowsRefused, permanent): the sink dead-letters the records that carry them.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from vigil.core.errors import StoreUnavailable
from vigil.settings import Settings
from vigil.store.tables import Line, TableSpec
from vigil.store.writer import RowsRefused, WriteResult

INSERT_TOKEN_HEADER = "x-vigil-insert-token"


class StoreWriteRefused(StoreUnavailable):
    """The store owner could not be reached, or answered, but not with a 2xx."""


REFUSED_ROWS = frozenset({400, 413, 422})


class RemoteStoreWriter:
    def __init__(self, url: str, service_token: str, max_body_bytes: int,
                 timeout_s: float = 60, verify: object = True,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._max_body_bytes = max_body_bytes
        self._client = httpx.Client(
            base_url=url.rstrip("/"), timeout=timeout_s, verify=verify,  # type: ignore[arg-type]
            headers={"authorization": f"Bearer {service_token}",
                     "content-type": "application/x-ndjson"},
            transport=transport)

    @classmethod
    def from_settings(cls, settings: Settings) -> RemoteStoreWriter:
        assert settings.store_writer_url
        return cls(settings.store_writer_url, settings.internal_token.get_secret_value(),
                   settings.store_write_max_bytes, verify=settings.api_verify)

    def write(self, spec: TableSpec, lines: list[Line], token: str) -> WriteResult:
        written = skipped = 0
        for n, body in enumerate(bodies(lines, self._max_body_bytes)):
            try:
                response = self._client.post(f"/internal/store/{spec.name}", content=body,
                                             headers={INSERT_TOKEN_HEADER: f"{token}.{n}"})
            except httpx.TransportError as exc:
                raise StoreWriteRefused(f"store owner unreachable: {exc}") from exc
            if response.status_code in REFUSED_ROWS:
                raise RowsRefused(f"store owner refused the rows of {spec.name} "
                                  f"({response.status_code}): {response.text[:300]}")
            if not response.is_success:
                raise StoreWriteRefused(f"store owner answered {response.status_code} for "
                                        f"{spec.name}: {response.text[:300]}")
            answer = response.json()
            written += int(answer["written"])
            skipped += int(answer["skipped"])
        return WriteResult(written, skipped)

    def close(self) -> None:
        self._client.close()


def bodies(lines: list[Line], max_bytes: int) -> Iterator[bytes]:
    """JSON-lines bodies of at most `max_bytes` each (a longer single line goes alone, and
    the owner refuses it). The split depends on the lines only, so a retry repeats it."""
    chunk: list[bytes] = []
    size = 0
    for x in lines:
        if chunk and size + len(x.line) + 1 > max_bytes:
            yield b"\n".join(chunk)
            chunk, size = [], 0
        chunk.append(x.line)
        size += len(x.line) + 1
    if chunk:
        yield b"\n".join(chunk)
