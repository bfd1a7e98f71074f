"""Drift between a reference sample and a current sample, feature by feature.

Contract: `drift_report(reference, current, kinds) -> DriftReport`, a pure
function over in-memory samples (`{feature: [values]}`). Per kind:

- numeric: two-sample Kolmogorov-Smirnov test; effect sizes PSI (10 quantile bins
  of the reference, epsilon-smoothed) and the Wasserstein distance divided by the
  reference IQR (its std when the IQR is 0). Non-finite values and None are dropped.
- categorical: chi-square on the 2 x categories contingency table (categories
  with an expected count under 5 merged into "<other>"; None is "<missing>");
  effect size PSI on the category shares of that table.
- text: lower-cased word tokens; the top-50 terms of both samples (the rest is
  "<other>"); chi-square on the term counts; effect size the Jensen-Shannon
  distance (base 2) of the term distributions.

The p-values of one report are adjusted with Benjamini-Hochberg. A feature has
drifted only when its adjusted p-value is under `alpha` AND its effect is
material (PSI >= 0.1, normalised Wasserstein >= 0.1, JS >= 0.1): with 100k rows
every trivial shift is "significant". Features with fewer than `min_samples`
values on either side are skipped, with the reason.

`evidently_report` renders the same samples as an evidently DataDriftPreset
report (HTML for people, JSON for tickets); evidently is imported only there.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, false_discovery_control, ks_2samp, wasserstein_distance

Kind = Literal["numeric", "categorical", "text"]
PSI_MATERIAL = 0.1
WASSERSTEIN_MATERIAL = 0.1
JS_MATERIAL = 0.1
PSI_BINS = 10
EPS = 1e-4
MIN_EXPECTED = 5.0
TOP_TERMS = 50
OTHER, MISSING = "<other>", "<missing>"
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: Kind
    n_ref: int
    n_cur: int
    test: str = ""                    # "ks" | "chi2"; "" when skipped
    statistic: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None   # Benjamini-Hochberg over the report's features
    effect: str = ""                  # the effect size that decides materiality
    effect_size: float | None = None
    psi: float | None = None
    wasserstein: float | None = None  # normalised by the reference IQR (or std)
    jensen_shannon: float | None = None
    material: bool = False
    drifted: bool = False
    skipped: str = ""


@dataclass(frozen=True)
class DriftReport:
    features: list[FeatureDrift]
    alpha: float
    min_samples: int
    drifted_features: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe: NaN and infinities become None."""
        return json.loads(json.dumps(_finite(asdict(self))))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population stability index of two histograms over the same bins (eps-smoothed)."""
    p = np.maximum(ref_counts / max(ref_counts.sum(), 1), EPS)
    q = np.maximum(cur_counts / max(cur_counts.sum(), 1), EPS)
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_drift(ref: np.ndarray, cur: np.ndarray) -> FeatureDrift:
    ks = ks_2samp(ref, cur)
    q1, q3 = np.percentile(ref, [25, 75])
    scale = (q3 - q1) or float(np.std(ref)) or 1.0
    wd = float(wasserstein_distance(ref, cur)) / float(scale)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    bins = len(edges) + 1
    p = psi(np.bincount(np.searchsorted(edges, ref, side="right"), minlength=bins),
            np.bincount(np.searchsorted(edges, cur, side="right"), minlength=bins))
    effect, size = ("psi", p) if p / PSI_MATERIAL >= wd / WASSERSTEIN_MATERIAL else (
        "wasserstein", wd)
    material = bool(p >= PSI_MATERIAL or wd >= WASSERSTEIN_MATERIAL)
    return FeatureDrift("", "numeric", len(ref), len(cur), "ks", float(ks.statistic),
                        float(ks.pvalue), effect=effect, effect_size=size, psi=p,
                        wasserstein=wd, material=material)


def _table(ref: Counter[str], cur: Counter[str], keep: Iterable[str]) -> np.ndarray:
    """2 x (kept categories + other) counts."""
    keep = list(keep)
    kept = set(keep)
    rows = []
    for c in (ref, cur):
        other = sum(n for k, n in c.items() if k not in kept)
        rows.append([c.get(k, 0) for k in keep] + [other])
    table = np.array(rows, dtype=float)
    return table[:, table.sum(axis=0) > 0]


def _chi2(table: np.ndarray) -> tuple[float, float]:
    if table.shape[1] < 2:
        return 0.0, 1.0
    res = chi2_contingency(table, correction=False)
    return float(res.statistic), float(res.pvalue)


def categorical_drift(ref: Sequence[str], cur: Sequence[str]) -> FeatureDrift:
    rc, cc = Counter(ref), Counter(cur)
    n_ref, n_cur = len(ref), len(cur)
    share_ref, share_cur = n_ref / (n_ref + n_cur), n_cur / (n_ref + n_cur)
    keep = [k for k in sorted(rc.keys() | cc.keys())
            if (rc[k] + cc[k]) * min(share_ref, share_cur) >= MIN_EXPECTED]
    table = _table(rc, cc, keep)
    stat, p = _chi2(table)
    size = psi(table[0], table[1])
    return FeatureDrift("", "categorical", n_ref, n_cur, "chi2", stat, p, effect="psi",
                        effect_size=size, psi=size, material=size >= PSI_MATERIAL)


def tokens(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(TOKEN.findall(t.lower()))
    return counts


def text_drift(ref: Sequence[str], cur: Sequence[str]) -> FeatureDrift:
    rc, cc = tokens(ref), tokens(cur)
    top = [k for k, _ in (rc + cc).most_common(TOP_TERMS)]
    table = _table(rc, cc, top)
    stat, p = _chi2(table)
    if table.sum() == 0:
        js = 0.0
    else:
        js = float(jensenshannon(table[0] / max(table[0].sum(), 1),
                                 table[1] / max(table[1].sum(), 1), base=2))
    js = 0.0 if math.isnan(js) else js
    return FeatureDrift("", "text", len(ref), len(cur), "chi2", stat, p,
                        effect="jensen_shannon", effect_size=js,
                        psi=psi(table[0], table[1]), jensen_shannon=js,
                        material=js >= JS_MATERIAL)


def _clean(values: Sequence[Any], kind: Kind) -> Any:
    if kind == "numeric":
        arr = np.array([np.nan if v is None else v for v in values], dtype=float)
        return arr[np.isfinite(arr)]
    if kind == "categorical":
        return [MISSING if v is None or v != v else str(v) for v in values]
    return ["" if v is None else str(v) for v in values]


DETECTORS = {"numeric": numeric_drift, "categorical": categorical_drift, "text": text_drift}


def drift_report(reference: Mapping[str, Sequence[Any]], current: Mapping[str, Sequence[Any]],
                 kinds: Mapping[str, Kind], alpha: float = 0.01,
                 min_samples: int = 200) -> DriftReport:
    """Test every feature of `kinds`; BH-adjust; flag significant AND material drift."""
    results: list[FeatureDrift] = []
    for feature, kind in kinds.items():
        if kind not in DETECTORS:
            raise ValueError(f"feature {feature}: unknown kind {kind!r}")
        ref = _clean(reference.get(feature, []), kind)
        cur = _clean(current.get(feature, []), kind)
        if min(len(ref), len(cur)) < min_samples:
            results.append(FeatureDrift(
                feature, kind, len(ref), len(cur),
                skipped=f"too few samples: {len(ref)} reference, {len(cur)} current "
                        f"(needs {min_samples} each)"))
            continue
        found = DETECTORS[kind](ref, cur)
        results.append(FeatureDrift(**{**asdict(found), "feature": feature}))
    tested = [i for i, r in enumerate(results) if not r.skipped]
    if tested:
        adjusted = false_discovery_control([results[i].p_value for i in tested], method="bh")
        for i, p_adj in zip(tested, adjusted, strict=True):
            r = results[i]
            results[i] = FeatureDrift(**{**asdict(r), "p_adjusted": float(p_adj),
                                         "drifted": bool(p_adj < alpha and r.material)})
    return DriftReport(results, alpha, min_samples, [r.feature for r in results if r.drifted])


def evidently_report(reference_df: Any, current_df: Any) -> tuple[str, dict[str, Any]]:
    """The HTML and the JSON (as a dict) of an evidently DataDriftPreset report."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(current_data=current_df,
                                               reference_data=reference_df)
    return snapshot.get_html_str(as_iframe=False), json.loads(snapshot.json())
