from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from vigil.analyze.budgets import check_budget
from vigil.core.budgets import Budget, load_budgets, period_bounds

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
DAY = Budget(project="p", period="day", limit_usd=50)


@pytest.mark.parametrize(("spent", "rate", "signal"), [
    (10.0, 1.0, None),              # 10 + 12 h x 1 = 22 < 50
    (30.0, 2.0, "budget_forecast"),  # 30 + 24 = 54 >= 50: warn before
    (51.0, 0.0, "budget_exceeded"),
    (49.0, 0.0, None),              # nothing more spent: no forecast breach
])
def test_forecast_warns_before_the_limit_and_exceeding_is_critical(
        spent: float, rate: float, signal: str | None) -> None:
    obs = check_budget(DAY, spent, rate, NOON)
    assert (obs.signal if obs else None) == signal
    if obs is not None:
        assert obs.severity == ("critical" if signal == "budget_exceeded" else "warning")


def test_periods_are_utc_day_and_calendar_month() -> None:
    assert period_bounds("day", NOON) == (datetime(2026, 11, 21, tzinfo=UTC),
                                          datetime(2026, 11, 22, tzinfo=UTC))
    assert period_bounds("month", NOON) == (datetime(2026, 11, 1, tzinfo=UTC),
                                            datetime(2026, 12, 1, tzinfo=UTC))


def test_budget_file(tmp_path: Path) -> None:
    f = tmp_path / "budgets.yaml"
    f.write_text("budgets:\n  - {project: p, user: u1, period: month, limit_usd: 5}\n")
    [b] = load_budgets(f)
    assert b.user == "u1" and "user u1" in b.name
    f.write_text("budgets:\n  - {project: p, limit_usd: -1}\n")
    with pytest.raises(ValueError, match=r"budgets\.yaml"):
        load_budgets(f)
