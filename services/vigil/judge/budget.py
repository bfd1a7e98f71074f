"""The judge's spend per project and UTC day, against the configured budget."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from vigil.judge.config import JudgeConfig


class JudgeBudget:
    def __init__(self, config: JudgeConfig) -> None:
        self._config = config
        self._spent: dict[tuple[str, date], float] = defaultdict(float)

    def allows(self, project: str, day: date) -> bool:
        return self._spent[(project, day)] < self._config.budget_for(project)

    def spend(self, project: str, day: date, usd: float) -> bool:
        """Record a spend; True when this spend used up the budget (just now)."""
        before = self._spent[(project, day)]
        self._spent[(project, day)] = before + usd
        limit = self._config.budget_for(project)
        return before < limit <= before + usd

    def spent(self, project: str, day: date) -> float:
        return self._spent[(project, day)]

    def forget_before(self, day: date) -> None:
        for key in [k for k in self._spent if k[1] < day]:
            del self._spent[key]
