"""Sampling over 10,000 synthetic traces, always-include rules, replay, budget."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vigil.judge.budget import JudgeBudget
from vigil.judge.config import AlwaysInclude, JudgeConfig, RateRule, parse_judge_config
from vigil.judge.sampling import Sampler, sample_point

START = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _records(n: int, seed: int = 1, errors: float = 0.0, pii: float = 0.0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append({
            "trace_id": f"{rng.getrandbits(128):032x}", "project_id": "p",
            "app": rng.choice(["a", "b"]), "model": rng.choice(["m1", "m2"]),
            "prompt_template_version": "v1", "environment": "prod",
            "start_time": (START + timedelta(seconds=i)).isoformat(),
            "status": "error" if rng.random() < errors else "ok",
            "pii_masked": {"email": 1} if rng.random() < pii else {},
            "latency_ms": rng.lognormvariate(6.5, 0.3),
        })
    return out


def _plain(rate: float, **kw: Any) -> JudgeConfig:
    return JudgeConfig(**{"default_rate": rate, "min_per_slice": 0, **kw},
                       always_include=AlwaysInclude(errors=False, pii=False,
                                                    latency_outlier_factor=None))


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.2, 0.5])
def test_realised_rate_is_within_tolerance_of_the_configured_one(rate: float) -> None:
    n = 10_000
    picked = sum(Sampler(_plain(rate)).decide(r).judge for r in _records(n))
    sigma = math.sqrt(n * rate * (1 - rate))
    assert abs(picked - n * rate) <= 4 * sigma, (picked, n * rate)


def test_the_same_traces_are_picked_on_replay() -> None:
    records = _records(10_000)
    config = JudgeConfig(default_rate=0.05, min_per_slice=3)
    first = [r["trace_id"] for r in records if Sampler(config).decide(r).judge]
    s1, s2 = Sampler(config), Sampler(config)
    again1 = [r["trace_id"] for r in records if s1.decide(r).judge]
    again2 = [r["trace_id"] for r in records if s2.decide(r).judge]
    assert again1 == again2
    hashed = {r["trace_id"] for r in records if sample_point(r["trace_id"]) < 0.05}
    assert hashed <= set(again1)  # the hash part never depends on state
    assert len(first) > 0


def test_always_include_rules_hold() -> None:
    records = _records(10_000, errors=0.03, pii=0.02)
    sampler = Sampler(JudgeConfig(default_rate=0.0, min_per_slice=0))
    decisions = [(r, sampler.decide(r)) for r in records]
    for r, d in decisions:
        if r["status"] == "error" or r["pii_masked"]:
            assert d.judge and d.reason in ("error", "pii")
    assert all(not d.judge or d.reason in ("error", "pii", "latency_outlier")
               for _, d in decisions)


def test_latency_outliers_are_included() -> None:
    records = _records(300)
    slow = dict(records[-1], trace_id="f" * 32, latency_ms=100_000.0)
    sampler = Sampler(JudgeConfig(default_rate=0.0, min_per_slice=0))
    for r in records:
        sampler.decide(r)
    assert sampler.decide(slow).reason == "latency_outlier"


def test_rare_slices_get_their_minimum_per_window() -> None:
    records = _records(2_000)
    rare = [dict(r, app="rare-app", model="m1", trace_id=f"{i:032x}")
            for i, r in enumerate(records[:10])]
    sampler = Sampler(_plain(0.0, min_per_slice=4))
    picked = [r for r in rare if sampler.decide(r).judge]
    assert len(picked) == 4


def test_rate_rules_first_match_wins() -> None:
    config = JudgeConfig(default_rate=0.05, rates=[
        RateRule(app="a", model="m1", rate=1.0), RateRule(app="a", rate=0.0)])
    assert config.rate_for("p", "a", "m1", "v1") == 1.0
    assert config.rate_for("p", "a", "m2", "v1") == 0.0
    assert config.rate_for("p", "b", "m1", "v1") == 0.05


def test_budget_stops_at_the_configured_spend_and_resumes_next_day() -> None:
    budget = JudgeBudget(JudgeConfig(budget_usd_per_day=1.0,
                                     project_budgets_usd_per_day={"small": 0.1}))
    day = date(2026, 11, 21)
    spent_calls = 0
    while budget.allows("p", day):
        budget.spend("p", day, 0.03)
        spent_calls += 1
    assert spent_calls == 34 and budget.spent("p", day) == pytest.approx(1.02)
    assert not budget.allows("p", day)
    assert budget.allows("p", day + timedelta(days=1))
    assert budget.allows("small", day) and budget.spend("small", day, 0.2)
    assert not budget.allows("small", day)


def test_config_file_errors_name_the_file(tmp_path: Path) -> None:
    good = tmp_path / "judge.yaml"
    good.write_text("default_rate: 0.1\nrates:\n  - {app: a, rate: 0.5}\n")
    assert parse_judge_config(good).rate_for("p", "a", "m", "v") == 0.5
    bad = tmp_path / "bad.yaml"
    bad.write_text("default_rate: 3\n")
    with pytest.raises(ValueError, match=r"bad\.yaml"):
        parse_judge_config(bad)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("sample_everything: true\n")
    with pytest.raises(ValueError, match=r"unknown\.yaml"):
        parse_judge_config(unknown)


def test_the_shipped_example_config_parses() -> None:
    example = Path(__file__).parents[3] / "examples" / "judge.yaml"
    config = parse_judge_config(example)
    assert config.budget_for("demo") == 2.0 and config.rate_for("x", "y", "z", "w") == 0.05
