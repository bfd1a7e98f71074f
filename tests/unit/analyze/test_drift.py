"""Drift reports: quiet when nothing changed, loud when something did."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vigil.analyze.detect.drift import drift_report, evidently_report

WORDS = ["order", "refund", "shipping", "delivery", "account", "password", "invoice",
         "cancel", "help", "thanks", "please", "status", "late", "broken", "card"]
NEW_WORDS = ["hallucination", "wrong", "answer", "made", "up", "citation", "source"]
KINDS = {"latency": "numeric", "tokens": "numeric", "model": "categorical",
         "prompt": "text"}


def texts(rng: np.random.Generator, n: int, vocab: list[str]) -> list[str]:
    return [" ".join(rng.choice(vocab, size=int(rng.integers(3, 15)))) for _ in range(n)]


def sample(rng: np.random.Generator, n: int, shift: float = 0.0, new_model: float = 0.0,
           vocab: list[str] = WORDS) -> dict[str, list]:
    models = rng.choice(["gpt-4o", "gpt-4o-mini", "claude"], n, p=[0.5, 0.3, 0.2]).tolist()
    k = int(new_model * n)
    models[:k] = ["llama-3"] * k
    return {"latency": (rng.lognormal(0, 0.5, n) + shift).tolist(),
            "tokens": rng.poisson(300, n).tolist(),
            "model": models,
            "prompt": texts(rng, n, vocab)}


def test_same_distribution_never_drifts_over_seeds() -> None:
    flagged, low_raw_p = 0, 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        report = drift_report(sample(rng, 1000), sample(rng, 1000), KINDS)
        flagged += len(report.drifted_features)
        low_raw_p += sum(f.p_value is not None and f.p_value < 0.01 for f in report.features)
    print(f"\nfalse drift over 20 seeds x 4 features: {flagged} flagged, "
          f"{low_raw_p} raw p < 0.01")
    assert flagged == 0


@pytest.mark.parametrize("change,feature", [
    ({"shift": 0.5}, "latency"),             # mean shift of about 0.75 IQR
    ({"new_model": 0.15}, "model"),          # a new category takes 15 %
    ({"vocab": WORDS[:8] + NEW_WORDS}, "prompt"),
])
def test_a_real_change_is_flagged(change: dict, feature: str) -> None:
    rng = np.random.default_rng(1)
    report = drift_report(sample(rng, 1000), sample(rng, 1000, **change), KINDS)
    assert report.drifted_features == [feature]
    result = next(f for f in report.features if f.feature == feature)
    assert result.p_adjusted is not None and result.p_adjusted < 0.01
    assert result.p_adjusted >= result.p_value and result.material


def test_huge_samples_do_not_flag_a_trivial_shift() -> None:
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(0, 1, 200_000), rng.normal(0.03, 1, 200_000)
    report = drift_report({"x": ref}, {"x": cur}, {"x": "numeric"})
    (x,) = report.features
    assert x.p_adjusted is not None and x.p_adjusted < 1e-6     # significant...
    assert not x.material and report.drifted_features == []     # ...but immaterial


@pytest.mark.parametrize("n_ref,n_cur,skipped", [(199, 500, True), (500, 199, True),
                                                   (200, 200, False)])
def test_min_samples_is_respected(n_ref: int, n_cur: int, skipped: bool) -> None:
    rng = np.random.default_rng(3)
    report = drift_report({"x": rng.normal(size=n_ref)}, {"x": rng.normal(5, size=n_cur)},
                          {"x": "numeric"}, min_samples=200)
    (x,) = report.features
    assert bool(x.skipped) == skipped
    assert (x.n_ref, x.n_cur) == (n_ref, n_cur)
    assert x.drifted == (not skipped)
    if skipped:
        assert "too few samples" in x.skipped and x.p_value is None


def test_missing_values_are_dropped_or_counted() -> None:
    rng = np.random.default_rng(4)
    ref = {"x": [*rng.normal(size=300).tolist(), None, float("nan")],
           "c": ["a", "b"] * 150}
    cur = {"x": rng.normal(size=300).tolist(), "c": ["a", "b", None] * 100}
    report = drift_report(ref, cur, {"x": "numeric", "c": "categorical"})
    x, c = report.features
    assert x.n_ref == 300 and not x.drifted
    assert c.drifted          # a third of the values went missing


def test_report_to_json_is_plain_json() -> None:
    rng = np.random.default_rng(5)
    report = drift_report(sample(rng, 300), sample(rng, 300, shift=1.0), KINDS)
    doc = report.to_json()
    assert json.loads(json.dumps(doc)) == doc
    assert doc["drifted_features"] == ["latency"]
    assert {f["feature"] for f in doc["features"]} == set(KINDS)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        drift_report({"x": [1]}, {"x": [1]}, {"x": "image"})  # type: ignore[dict-item]


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::DeprecationWarning")
def test_evidently_report_renders() -> None:
    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"latency": rng.lognormal(0, 0.5, 200),
                        "model": rng.choice(["gpt-4o", "claude"], 200)})
    cur = pd.DataFrame({"latency": rng.lognormal(0.5, 0.5, 200),
                        "model": rng.choice(["gpt-4o", "claude", "llama-3"], 200)})
    html, doc = evidently_report(ref, cur)
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500].lower()
    assert len(html) > 1000
    assert doc["metrics"] and "latency" in json.dumps(doc)
