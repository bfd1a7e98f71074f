"""The spill directory: parcels the collector could not take, kept on disk until it can.

Contract
- One file per parcel: ``<time_ns>-<pid>-<seq>.traces`` holds a serialized
  ``EmitBatchRequest``, ``... .feedback`` a serialized ``SubmitFeedbackRequest``.
  A file is written to a temporary name, fsynced and renamed, so a reader never
  sees half a parcel, even after a crash or power loss.
- Names sort in write order; :meth:`SpillDir.oldest` returns the oldest parcel.
  A file is deleted only after the collector acknowledged it (the sender calls
  :meth:`SpillDir.remove`), so a crash between the two re-sends it; the
  collector stores an event id once.
- ``max_bytes`` bounds the directory; :meth:`SpillDir.write` returns False when a
  parcel does not fit (the sender counts the events as dropped ``spill_full``).
- Several clients (processes) may write the same directory; only the one that
  holds the exclusive lock on ``.lock`` replays it. The lock dies with its
  process, so a client started later takes over the leftovers.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from vigil_protos.v1 import ingest_pb2

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking, every client replays
    fcntl = None  # type: ignore[assignment]

Parcel = ingest_pb2.EmitBatchRequest | ingest_pb2.SubmitFeedbackRequest
_SUFFIX: dict[type[Parcel], str] = {ingest_pb2.EmitBatchRequest: ".traces",
                                     ingest_pb2.SubmitFeedbackRequest: ".feedback"}
_TYPE = {suffix: kind for kind, suffix in _SUFFIX.items()}
_STALE_TEMP_S = 3600.0
_RESCAN_S = 1.0


def parcel_size(parcel: Parcel) -> int:
    """Events in a parcel."""
    return len(parcel.events) if isinstance(parcel, ingest_pb2.EmitBatchRequest) else 1


@dataclass(frozen=True, slots=True)
class Spilled:
    path: Path
    parcel: Parcel | None  # None: the file could not be parsed


class SpillDir:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root, self.max_bytes = root, max_bytes
        root.mkdir(parents=True, exist_ok=True)
        self._seq = itertools.count()
        self._lock_file: IO[bytes] | None = None
        self._pending: deque[Path] = deque()  # known parcels, oldest first
        self._scanned_at = 0.0
        self.bytes = self._rescan()

    @property
    def owner(self) -> bool:
        """True when this client holds the lock and so replays the directory."""
        return self._lock_file is not None

    def try_own(self) -> bool:
        if self._lock_file is not None:
            return True
        handle = open(self.root / ".lock", "ab")  # noqa: SIM115 - held while we own the dir
        try:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        self._remove_stale_temps()
        self.bytes = self._rescan()
        return True

    def release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor drops the flock
            self._lock_file = None

    def write(self, parcel: Parcel) -> bool:
        """Store the parcel atomically; False when it would exceed ``max_bytes``."""
        data = parcel.SerializeToString()
        if self.bytes + len(data) > self.max_bytes:
            return False
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._seq):06d}"
        temp = self.root / f".tmp-{name}"
        self.root.mkdir(parents=True, exist_ok=True)  # in case it was cleaned up meanwhile
        with open(temp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        path = self.root / (name + _SUFFIX[type(parcel)])
        os.replace(temp, path)
        self.bytes += len(data)
        self._pending.append(path)
        return True

    def oldest(self) -> Spilled | None:
        if not self._pending:
            self._rescan()
        while self._pending:
            path = self._pending[0]
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # another client removed it meanwhile
                self._pending.popleft()
                continue
            parcel = _TYPE[path.suffix]()
            try:
                parcel.ParseFromString(data)
            except Exception:
                return Spilled(path, None)
            return Spilled(path, parcel)
        return None

    def remove(self, path: Path) -> None:
        if self._pending and self._pending[0] == path:
            self._pending.popleft()
        with contextlib.suppress(FileNotFoundError):
            size = path.stat().st_size
            path.unlink()
            self.bytes = max(0, self.bytes - size)

    def has_parcels(self) -> bool:
        """True when parcels wait; looks for other clients' files at most once a second."""
        if not self._pending and time.monotonic() - self._scanned_at >= _RESCAN_S:
            self.bytes = self._rescan()
        return bool(self._pending)

    def files(self) -> list[Path]:
        return sorted(self._parcels())

    def _parcels(self) -> list[Path]:
        try:
            return [p for p in self.root.iterdir() if p.suffix in _TYPE and p.name[0] != "."]
        except FileNotFoundError:
            return []

    def _rescan(self) -> int:
        """Re-read the directory (other clients may have written); return its bytes."""
        paths = self.files()
        self._pending, self._scanned_at = deque(paths), time.monotonic()
        total = 0
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def _remove_stale_temps(self) -> None:
        cutoff = time.time() - _STALE_TEMP_S
        for path in self.root.glob(".tmp-*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
