"""Where the analyzer saw a signal: the slice key its detectors, alerts and tickets share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SliceKey:
    """Where a signal was seen; empty strings mean "all"."""

    project_id: str
    app: str = ""
    model: str = ""
    prompt_version: str = ""
    environment: str = ""

    def label(self) -> str:
        parts = [f"{k}={v}" for k, v in (("app", self.app), ("model", self.model),
                                          ("prompt_version", self.prompt_version),
                                          ("environment", self.environment)) if v]
        return ",".join(parts) or "all"
