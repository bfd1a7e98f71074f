"""Versioned rubrics: the instructions an LLM judge follows, one file per version.

Contract: `rubrics/<name>.v<N>.md` next to this module is version "N" of the
rubric `name`. A file is never edited once judgments were made with it: a
change is a new version, so every stored judgment names the exact text that
produced it. `load_rubric(name)` gives the highest version, `load_rubric(name,
"1")` (or "v1") a given one; an unknown name or version is a LookupError that
lists what exists. Every rubric asks for one JSON object {"score": 0..1,
"label": str, "rationale": str}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

_FILE = re.compile(r"([a-z][a-z0-9_-]*)\.v([1-9][0-9]*)\.md")


@dataclass(frozen=True, slots=True)
class Rubric:
    name: str
    version: str  # "1", "2", ...
    text: str

    @property
    def ref(self) -> str:
        """How judgments and logs name the rubric: "name.vN"."""
        return f"{self.name}.v{self.version}"


def _directory() -> Traversable:
    return files("vigil.judge") / "rubrics"


def _index() -> dict[str, dict[int, Traversable]]:
    found: dict[str, dict[int, Traversable]] = {}
    for entry in _directory().iterdir():
        m = _FILE.fullmatch(entry.name)
        if m is not None and entry.is_file():
            found.setdefault(m[1], {})[int(m[2])] = entry
    return found


def list_rubrics() -> dict[str, list[str]]:
    """Every rubric name with its versions, oldest first."""
    return {name: [str(v) for v in sorted(versions)]
            for name, versions in sorted(_index().items())}


def load_rubric(name: str, version: str | int | None = None) -> Rubric:
    """The rubric `name` at `version` ("3", "v3" or 3), the latest when None."""
    index = _index()
    versions = index.get(name)
    if not versions:
        raise LookupError(f"no rubric named {name!r}; known: {sorted(index)}")
    if version is None:
        number = max(versions)
    else:
        text = str(version).strip().lower().removeprefix("v")
        number = int(text) if text.isdigit() else -1
        if number not in versions:
            known = [f"v{v}" for v in sorted(versions)]
            raise LookupError(f"rubric {name!r} has no version {version!r}; known: {known}")
    content = versions[number].read_text(encoding="utf-8")
    return Rubric(name, str(number), content)
