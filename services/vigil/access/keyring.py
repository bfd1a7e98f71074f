"""API keys -> callers (project + public key id). The project always comes from the
key, never the payload.

One KeyRing serves every entry point (gRPC ingest, OTLP/gRPC and /HTTP, the read
API, enrich's direct-Kafka path). It merges the keys of `VIGIL_API_KEYS` with
the key file of `vigil keys` (see vigil.access.keyfile) and re-reads that file when it
changes (one stat per `poll_s` at most), so a created or revoked key takes
effect in running services within seconds. Keys are held as SHA-256 digests
only, so a key never sits in memory in clear after start-up and is never logged.

Each caller has a scope (vigil.keyfile.SCOPES): `read`, `write` or `admin`, each
including the ones before it. The read API's POST routes need `write`
(vigil.api.deps); ingest takes every scope. Keys of `VIGIL_API_KEYS` are `admin` unless
the entry names a scope (`key=project:read`), like key-file entries written before
scopes existed, so every key keeps working as it did.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from vigil.access import keyfile
from vigil.access.keyfile import LEGACY_SCOPE, SCOPES, digest
from vigil.runtime.logs import get_logger
from vigil.settings import DEMO_API_KEY, Settings

log = get_logger(__name__)
__all__ = ["Caller", "KeyRing", "digest"]


@dataclass(frozen=True, slots=True)
class Caller:
    project: str
    key_id: str  # public: the key file's id, or "env-N" for the N-th VIGIL_API_KEYS entry
    digest: str  # identifies the key (rate limit buckets); never the key itself
    name: str = ""  # what the key is for (`vigil keys create --name`); may be empty
    scope: str = LEGACY_SCOPE

    @property
    def label(self) -> str:
        """How the caller is named in the records it writes (a prompt's pushed_by)."""
        return self.name or self.key_id

    def may(self, scope: str) -> bool:
        """Whether this caller's scope includes `scope`."""
        return SCOPES.index(self.scope) >= SCOPES.index(scope)


class KeyRing:
    def __init__(self, env_callers: dict[str, Caller], key_file: Path | None = None, *,
                 poll_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._env = env_callers
        self._key_file = key_file
        self._poll_s, self._clock = poll_s, clock
        self._file_callers: dict[str, Caller] = {}
        self._signature: tuple[int, int, int] | None = None
        self._next_check = float("-inf")
        self._reload_lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str, key_file: Path | None = None, *, poll_s: float = 1.0,
              clock: Callable[[], float] = time.monotonic) -> KeyRing:
        """Parse 'key1=project-a,key2=project-b:read' (plus an optional key file)."""
        callers: dict[str, Caller] = {}
        for n, item in enumerate(p.strip() for p in spec.split(",") if p.strip()):
            key, sep, project = item.partition("=")
            project, _, scope = project.strip().partition(":")
            if not sep or not key.strip() or not project.strip():
                raise ValueError(f"VIGIL_API_KEYS entry {n + 1} is not 'key=project' "
                                 "(or 'key=project:scope')")
            if scope and scope not in SCOPES:
                raise ValueError(f"VIGIL_API_KEYS entry {n + 1}: scope {scope!r} is not one "
                                 f"of {', '.join(SCOPES)}")
            d = digest(key.strip())
            callers[d] = Caller(project.strip(), f"env-{n + 1}", d, f"env-{n + 1}",
                                scope or LEGACY_SCOPE)
        if not callers:
            raise ValueError("VIGIL_API_KEYS holds no key: set 'key=project[,key=project]'")
        return cls(callers, key_file, poll_s=poll_s, clock=clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """VIGIL_API_KEYS (may be empty when keys come from the file) + the key file."""
        spec = settings.api_keys.get_secret_value()
        if spec.strip():
            return cls.parse(spec, settings.key_file_path)
        return cls({}, settings.key_file_path)

    def caller_for_key(self, key: str) -> Caller | None:
        if not key:
            return None
        self._refresh()
        d = digest(key)
        return self._env.get(d) or self._file_callers.get(d)

    def caller_for_authorization(self, value: str | None) -> Caller | None:
        """The caller of an 'Authorization: Bearer <key>' header value."""
        scheme, _, token = (value or "").partition(" ")
        return self.caller_for_key(token.strip()) if scheme.lower() == "bearer" else None

    def caller_for_metadata(self, metadata: Iterable[tuple[str, str | bytes]]) -> Caller | None:
        for name, value in metadata:
            if name == "authorization" and isinstance(value, str):
                return self.caller_for_authorization(value)
        return None

    def project_for_key(self, key: str) -> str | None:
        caller = self.caller_for_key(key)
        return caller.project if caller else None

    def project_for_metadata(self, metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
        caller = self.caller_for_metadata(metadata)
        return caller.project if caller else None

    def _refresh(self) -> None:
        """Re-read the key file when its (mtime, inode, size) changed; at most once per
        poll interval. A file that cannot be read keeps the keys last read (and says so)."""
        if self._key_file is None or self._clock() < self._next_check:
            return
        if not self._reload_lock.acquire(blocking=False):
            return  # another thread is reloading; use the current keys meanwhile
        try:
            self._next_check = self._clock() + self._poll_s
            try:
                st = self._key_file.stat()
                signature: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_ino, st.st_size)
            except FileNotFoundError:
                signature = None
            if signature == self._signature:
                return
            try:
                stored = keyfile.load(self._key_file) if signature else []
            except keyfile.KeyFileError as exc:
                log.error("key file unreadable; keeping the keys read before", error=str(exc))
                return
            self._file_callers = {
                k.digest: Caller(k.project, k.key_id, k.digest, k.name,
                                 k.scope if k.scope in SCOPES else "read")  # unknown: least
                for k in stored if k.active}
            self._signature = signature
            log.info("API key file read", active_keys=len(self._file_callers),
                     revoked_keys=sum(not k.active for k in stored))
        finally:
            self._reload_lock.release()


def demo_key_enabled(settings: Settings) -> bool:
    """Whether the public demo key (printed in the README) is one of the accepted keys."""
    spec = settings.api_keys.get_secret_value()
    return any(item.partition("=")[0].strip() == DEMO_API_KEY for item in spec.split(","))


def warn_if_demo_key(settings: Settings) -> None:
    """Say at start-up, every time, that anyone may use the demo key while it is on."""
    if demo_key_enabled(settings):
        log.warning("the public demo API key is enabled: anyone who can reach this service "
                    "can write to and read project 'demo'. For real use set VIGIL_API_KEYS "
                    "(or empty it and use `vigil keys create`).", key=DEMO_API_KEY)
