"""A/B comparison of two variants (prompt versions, models) on one metric (pure).

Means (judge score, latency) use Welch's t-test from the per-variant count, mean
and variance, so the store only returns three numbers per variant. Rates (error
rate, thumbs-down share) use a chi-square test on the 2x2 table, or Fisher's
exact test when an expected cell count is below 5.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy import stats

ALPHA = 0.05
MIN_SAMPLES = 30  # below this per variant the verdict says the sample is too small

Kind = Literal["mean", "rate"]


@dataclass(frozen=True)
class VariantSample:
    variant: str
    n: int
    mean: float          # a mean, or a rate in [0, 1]
    variance: float = 0.0  # sample variance; unused for rates


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    kind: Kind
    test: str
    difference: float           # mean(b) - mean(a)
    ci_low: float | None        # 95% interval of the difference
    ci_high: float | None
    p_value: float | None
    significant: bool
    enough_samples: bool
    verdict: str

    def to_json(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in asdict(self).items()}


def compare(a: VariantSample, b: VariantSample, kind: Kind, higher_is_better: bool,
            alpha: float = ALPHA) -> Comparison:
    """Is b different from a, and is it better? Never raises on small or degenerate input."""
    diff = b.mean - a.mean
    enough = min(a.n, b.n) >= MIN_SAMPLES
    if min(a.n, b.n) < 2:
        return Comparison(a.variant, b.variant, kind, "none", diff, None, None, None, False,
                          False, f"not enough data: {a.n} vs {b.n} samples")
    if kind == "mean":
        test, p, low, high = _welch(a, b)
    else:
        test, p, low, high = _rates(a, b)
    significant = p is not None and p < alpha and enough
    return Comparison(a.variant, b.variant, kind, test, diff, low, high, p, significant,
                      enough, _verdict(a, b, diff, p, significant, enough, higher_is_better,
                                       alpha))


def _welch(a: VariantSample, b: VariantSample
           ) -> tuple[str, float | None, float | None, float | None]:
    se2 = a.variance / a.n + b.variance / b.n
    if se2 <= 0:
        # No spread in either variant: identical means are no difference, others are certain.
        p = 1.0 if a.mean == b.mean else 0.0
        return "welch_t", p, b.mean - a.mean, b.mean - a.mean
    result = stats.ttest_ind_from_stats(b.mean, math.sqrt(b.variance), b.n, a.mean,
                                        math.sqrt(a.variance), a.n, equal_var=False)
    df = se2 ** 2 / ((a.variance / a.n) ** 2 / (a.n - 1) + (b.variance / b.n) ** 2 / (b.n - 1))
    half = float(stats.t.ppf(0.975, df)) * math.sqrt(se2)
    diff = b.mean - a.mean
    return "welch_t", _finite(float(result.pvalue)), diff - half, diff + half


def _rates(a: VariantSample, b: VariantSample
           ) -> tuple[str, float | None, float | None, float | None]:
    hits_a, hits_b = round(a.mean * a.n), round(b.mean * b.n)
    table = [[hits_a, a.n - hits_a], [hits_b, b.n - hits_b]]
    total = a.n + b.n
    hits = hits_a + hits_b
    if hits in (0, total):
        p, test = 1.0, "chi2"
    else:
        expected = min(r * c / total for r in (a.n, b.n) for c in (hits, total - hits))
        if expected < 5:
            p, test = float(stats.fisher_exact(table).pvalue), "fisher_exact"
        else:
            p, test = float(stats.chi2_contingency(table).pvalue), "chi2"
    se = math.sqrt(a.mean * (1 - a.mean) / a.n + b.mean * (1 - b.mean) / b.n)
    diff = b.mean - a.mean
    return test, _finite(p), diff - 1.96 * se, diff + 1.96 * se


def _verdict(a: VariantSample, b: VariantSample, diff: float, p: float | None,
             significant: bool, enough: bool, higher_is_better: bool, alpha: float) -> str:
    if not enough:
        return (f"too few samples to tell ({a.n} vs {b.n}; at least {MIN_SAMPLES} per "
                "variant are needed)")
    if not significant:
        return (f"no significant difference between {a.variant} and {b.variant} "
                f"(p = {p:.3g} >= {alpha})" if p is not None else "no test possible")
    better = b if (diff > 0) == higher_is_better else a
    return f"{better.variant} is better (p = {p:.3g} < {alpha})"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
