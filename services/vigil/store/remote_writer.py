"""A `StoreWriter` that writes through the store owner's read API.

Used by a sink that does not own the embedded store (VIGIL_STORE_WRITER_URL
set): each table's rows go as one JSON-lines body to
`POST {url}/internal/store/{table}` with the service token and the batch's
insert token; the owner deduplicates and inserts under its lock and answers
`{"written": n, "skipped": m}`. Anything but a 2xx raises, and the sink treats
it like a store outage: it keeps its offsets, pauses and retries the batch,
which is harmless because the owner skips rows it already holds.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from vigil.settings import Settings
from vigil.store.tables import Line, TableSpec
from vigil.store.writer import WriteResult

INSERT_TOKEN_HEADER = "x-vigil-insert-token"


class StoreWriteRefused(RuntimeError):
    """The store owner answered, but not with a 2xx."""


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
            response = self._client.post(f"/internal/store/{spec.name}", content=body,
                                         headers={INSERT_TOKEN_HEADER: f"{token}.{n}"})
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
