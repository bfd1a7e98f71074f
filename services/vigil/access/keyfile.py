"""The API key file: keys created and revoked with `vigil keys`, stored hashed.

One JSON document (`VIGIL_KEYS_FILE`, default `VIGIL_DATA_DIR/keys.json`):

    {"version": 1, "keys": [{"key_id": "vk_AbCd1234", "digest": "<sha256 hex>",
      "project": "shop", "name": "checkout-prod", "scope": "read", "created_at": "...",
      "revoked_at": null}]}

A key's scope is what it may do with the read API (vigil.access.keyring): `read` (GET routes),
`write` (also the POST routes that change state: prompts, labels, tickets) or `admin`
(everything; today the same as write). Every scope may send events to ingest. An entry
written before scopes existed has none and is `admin`: such keys could do everything
and still can.

A key is `vk_` + 32 random bytes (urlsafe base64); it is shown once at creation
and only its SHA-256 digest is kept. A fast hash is enough here because the
keys are 256-bit random values: there is nothing to guess a digest back from
(a slow password hash protects low-entropy secrets, which these are not). The
key id is the key's first characters: public, shown by `vigil keys list`,
enough to name a key in logs and to revoke it.

Writes hold an exclusive lock on `<file>.lock`, write a temporary file with
mode 0600 in the same directory and `os.replace` it over the old one, so a
reader sees the old document or the new one, never half of either. In
Kubernetes the file is a mounted Secret written by the same command.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

KEY_PREFIX = "vk_"
KEY_ID_CHARS = len(KEY_PREFIX) + 8
PROJECT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_NAME_CHARS = 200
SCOPES = ("read", "write", "admin")  # each includes the ones before it
LEGACY_SCOPE = "admin"  # of a key stored before scopes existed: all it could do before


@dataclass(frozen=True, slots=True)
class StoredKey:
    key_id: str
    digest: str
    project: str
    name: str
    created_at: str
    revoked_at: str | None = None
    scope: str = LEGACY_SCOPE

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyFileError(ValueError):
    """The key file cannot be read as a key document."""


def load(path: Path) -> list[StoredKey]:
    """The keys of the file; none when it does not exist."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path} is not a readable key file: {type(exc).__name__}") from exc
    try:
        return [StoredKey(**entry) for entry in doc["keys"]]
    except (KeyError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a key file: {type(exc).__name__} {exc}") from exc


def create(path: Path, project: str, name: str, now: datetime, scope: str = "read"
           ) -> tuple[str, StoredKey]:
    """Add a new key for `project`; return the key (shown once) and what is stored."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    if not PROJECT_PATTERN.match(project):
        raise ValueError("project must be 1-128 characters: letters, digits, '.', '_', '-'")
    if len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise ValueError(f"name must be printable and at most {MAX_NAME_CHARS} characters")
    with _locked(path):
        keys = load(path)
        taken = {k.key_id for k in keys}
        while True:
            key = KEY_PREFIX + secrets.token_urlsafe(32)
            if key[:KEY_ID_CHARS] not in taken:
                break
        stored = StoredKey(key_id=key[:KEY_ID_CHARS], digest=digest(key), project=project,
                           name=name, created_at=now.isoformat(), scope=scope)
        _write(path, [*keys, stored])
    return key, stored


def revoke(path: Path, key_id: str, now: datetime) -> StoredKey:
    """Mark a key revoked (kept in the file for the record). KeyError when unknown."""
    with _locked(path):
        keys = load(path)
        for i, stored in enumerate(keys):
            if stored.key_id == key_id:
                if stored.active:
                    keys[i] = stored = replace(stored, revoked_at=now.isoformat())
                    _write(path, keys)
                return stored
    raise KeyError(key_id)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write(path: Path, keys: list[StoredKey]) -> None:
    body = json.dumps({"version": 1, "keys": [asdict(k) for k in keys]}, indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:  # mkstemp creates the file with mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
