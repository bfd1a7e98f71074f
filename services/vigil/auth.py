"""API keys -> projects. The project always comes from the key, never the payload.

Keys are held as SHA-256 digests only, so a key never sits in memory in clear
after start-up and is never logged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


class KeyRing:
    def __init__(self, digests: dict[str, str]) -> None:
        self._projects_by_digest = digests

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """Parse 'key1=project-a,key2=project-b'."""
        digests: dict[str, str] = {}
        for n, item in enumerate(p.strip() for p in spec.split(",") if p.strip()):
            key, sep, project = item.partition("=")
            if not sep or not key.strip() or not project.strip():
                raise ValueError(f"VIGIL_API_KEYS entry {n + 1} is not 'key=project'")
            digests[digest(key.strip())] = project.strip()
        if not digests:
            raise ValueError("VIGIL_API_KEYS holds no key: set 'key=project[,key=project]'")
        return cls(digests)

    def project_for_key(self, key: str) -> str | None:
        return self._projects_by_digest.get(digest(key))

    def project_for_metadata(self, metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
        for name, value in metadata:
            if name == "authorization" and isinstance(value, str):
                scheme, _, token = value.partition(" ")
                if scheme.lower() == "bearer" and token.strip():
                    return self.project_for_key(token.strip())
        return None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
