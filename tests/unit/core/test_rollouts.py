"""Rollout assignment, segments and the rules over rollout rows (pure), and the SDK's copy
of the assignment agreeing with the core's on shared vectors."""

from __future__ import annotations

import hashlib

import pytest

from vigil.core import rollouts
from vigil.core.prompt_history import Conflict, NotFound
from vigil.core.prompts import PromptError
from vigil.core.rollouts import RolloutPlan, RolloutRow, active, plan_rollout, plan_stop
from vigil_sdk import variants

# (rollout id, unit id, bucket), written down once from the definition (SHA-256 of
# "rollout_id\nunit", first 8 bytes big-endian, mod 10,000): both copies must keep them.
VECTORS = [("greet:production#1", "user-1", 4993), ("greet:production#1", "user-2", 3173),
           ("support:staging#7", "s-42", 9284), ("a:b#3", "", 834), ("x:y#1", "ü", 708)]


@pytest.mark.parametrize(("rollout_id", "unit", "expected"), VECTORS)
def test_known_vectors_in_both_copies(rollout_id: str, unit: str, expected: int) -> None:
    digest = hashlib.sha256(f"{rollout_id}\n{unit}".encode()).digest()
    assert int.from_bytes(digest[:8], "big") % 10_000 == expected
    assert rollouts.bucket(rollout_id, unit) == expected == variants.bucket(rollout_id, unit)
    assert rollouts.assign(rollout_id, unit, expected / 100) is False  # bucket == threshold
    assert rollouts.assign(rollout_id, unit, (expected + 1) / 100) is True
    assert variants.assign(rollout_id, unit, (expected + 1) / 100) is True


def test_both_copies_agree_on_many_ids_and_percents() -> None:
    ids = [f"user-{n}" for n in range(3000)] + ["", "ü-ñicode", "a\nb", "x" * 500]
    for rollout_id in ("greet:production#1", "support:staging#7"):
        for unit in ids:
            assert rollouts.bucket(rollout_id, unit) == variants.bucket(rollout_id, unit)
            for percent in (0, 0.01, 5, 20, 33.33, 99.99, 100):
                assert rollouts.assign(rollout_id, unit, percent) == \
                    variants.assign(rollout_id, unit, percent)
    segment = {"plan": ("pro", "team"), "region": ("eu",)}
    for attrs in ({"plan": "pro", "region": "eu"}, {"plan": "free", "region": "eu"},
                  {"plan": "team"}, {}, {"plan": "team", "region": "eu", "x": 1}):
        assert rollouts.matches(segment, attrs) == variants.matches(segment, attrs)


@pytest.mark.parametrize("percent", [1, 5, 20, 50, 90])
def test_split_is_exact_at_scale(percent: float) -> None:
    """100k users land within 0.5 percentage points of the share (the binomial standard
    deviation is at most 0.16 points at this size)."""
    n = 100_000
    hits = sum(rollouts.assign("greet:production#4", f"u{i}", percent) for i in range(n))
    assert abs(100 * hits / n - percent) < 0.5


def test_edges_and_stability() -> None:
    ids = [f"u{i}" for i in range(2000)]
    assert not any(rollouts.assign("r#1", u, 0) for u in ids)
    assert all(rollouts.assign("r#1", u, 100) for u in ids)
    # the same user always gets the same answer; raising the share only adds users
    at10 = {u for u in ids if rollouts.assign("r#1", u, 10)}
    assert at10 == {u for u in ids if rollouts.assign("r#1", u, 10)}
    at30 = {u for u in ids if rollouts.assign("r#1", u, 30)}
    assert at10 < at30
    # another rollout draws afresh
    other = {u for u in ids if rollouts.assign("r#2", u, 10)}
    assert other != at10 and 100 < len(other) < 300


def test_segments() -> None:
    segment = rollouts.parse_segment(["plan=pro", "region=eu", "plan=team", "plan=pro"])
    assert segment == {"plan": ("pro", "team"), "region": ("eu",)}
    assert rollouts.matches(segment, {"plan": "team", "region": "eu"})
    assert not rollouts.matches(segment, {"plan": "free", "region": "eu"})
    assert not rollouts.matches(segment, {"plan": "pro"})  # region missing
    assert rollouts.matches({}, {})
    assert rollouts.matches({"tier": ("3",)}, {"tier": 3})  # compared as strings
    for bad in ("plan", "=pro", "plan=", ""):
        with pytest.raises(PromptError, match="KEY=VALUE"):
            rollouts.parse_segment([bad])


def test_guards() -> None:
    assert rollouts.check_guards(["cost", "quality"]) == ("quality", "cost")
    with pytest.raises(PromptError, match="unknown guard speed: the guards are quality"):
        rollouts.check_guards(["speed"])


def _plan(candidate: int, percent: float = 20, **kw: object) -> RolloutPlan:
    return RolloutPlan(candidate, percent, **kw)  # type: ignore[arg-type]


def test_start_change_stop_and_history() -> None:
    rows: list[RolloutRow] = []
    start = plan_rollout(rows, "p", "greet", "production", 1, _plan(2, guards=("errors",)),
                         "ci", "t1")
    assert (start.action, start.seq, start.rollout_id, start.control_version,
            start.candidate_version, start.percent) == ("start", 1, "greet:production#1", 1,
                                                        2, 20)
    rows.append(start)
    assert active(rows, "production") == start and active(rows, "staging") is None
    change = plan_rollout(rows, "p", "greet", "production", 1, _plan(2, 50), "ci", "t2")
    assert (change.action, change.seq, change.rollout_id, change.percent) == (
        "change", 2, "greet:production#1", 50)
    rows.append(change)
    with pytest.raises(Conflict, match="rolling out version 2: stop it first"):
        plan_rollout(rows, "p", "greet", "production", 1, _plan(3), "ci", "t3")
    stop = plan_stop(rows, "greet", "production", "ci", "t3")
    assert (stop.action, stop.seq, stop.rollout_id) == ("stop", 3, "greet:production#1")
    rows.append(stop)
    assert active(rows, "production") is None
    with pytest.raises(NotFound, match="no rollout of 'greet' runs on label 'production'"):
        plan_stop(rows, "greet", "production", "ci", "t4")
    again = plan_rollout(rows, "p", "greet", "production", 1, _plan(3), "ci", "t4")
    assert (again.action, again.rollout_id) == ("start", "greet:production#4")


def test_start_refusals() -> None:
    with pytest.raises(NotFound, match="has no label 'production': point it at the control"):
        plan_rollout([], "p", "greet", "production", None, _plan(2), "ci", "t")
    with pytest.raises(Conflict, match="points at version 2 already"):
        plan_rollout([], "p", "greet", "production", 2, _plan(2), "ci", "t")


def test_variant_for() -> None:
    row = plan_rollout([], "p", "greet", "production", 1,
                       _plan(2, 50, split_by="session", segment={"plan": ("pro",)}), "ci", "t")
    assert rollouts.variant_for(None, "u", "s", {}) == ""
    assert rollouts.variant_for(row, "u1", "", {"plan": "pro"}) == ""  # no session id
    assert rollouts.variant_for(row, "u1", "s1", {"plan": "free"}) == ""  # not in segment
    seen = {rollouts.variant_for(row, "", f"s{i}", {"plan": "pro"}) for i in range(100)}
    assert seen == {"control", "candidate"}
    for i in range(100):
        assert rollouts.variant_for(row, "", f"s{i}", {"plan": "pro"}) == variants.variant(
            row.rollout_id, row.percent, row.split_by, row.segment, "", f"s{i}",
            {"plan": "pro"})
