"""Quality: judge scores per evaluator, an A/B comparison of prompt versions or models
with a significance test, the lowest-scored calls, and how much was judged."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import fetch, line, page, series, table

api, f = page("Quality")

DEMO_JUDGE_PREFIX = "[demo judge"  # how the demo's stand-in judge starts its rationales
METRICS = {"score": "Judge score", "thumbs_up": "Thumbs up share",
           "error_rate": "Error rate", "latency": "Latency (ms)", "cost": "Cost per call"}

scores = fetch(api.scores, f.scope)
evaluators = scores.get("evaluators") or []
if not evaluators:
    st.info(f"No judge scores in the {f.describe()}: the judge stage (`vigil judge`, started "
            "by `make up`) scores a sample of traces a few seconds after they arrive. "
            "Widen the time range or clear the filters.")
else:
    st.subheader("Evaluators")
    demo_judged = sorted({r["evaluator"] for r in scores.get("lowest") or []
                          if str(r.get("rationale", "")).startswith(DEMO_JUDGE_PREFIX)})
    if demo_judged:
        st.info(f"Demo: {', '.join(demo_judged)} scores come from the demo's stand-in judge "
                "(`vigil demo-judge`, a heuristic, not an LLM). Set VIGIL_JUDGE_LLM_BASE_URL "
                "to judge with a real model.", icon=":material/science:")
    st.dataframe(table(evaluators, ["evaluator", "judgments", "errors", "mean_score",
                                    "p10_score"], zone=f.zone), hide_index=True, width="stretch")
    names = [e["evaluator"] for e in evaluators]
    chosen = st.multiselect("Evaluators in the chart", names, default=names[:3],
                            key="vigil_evaluators")
    frames = []
    for name in chosen:
        points = fetch(api.timeseries, "quality", f.scope, interval=f.interval,
                       group_by=f.group_by, evaluator=name)
        frame = series(points, "mean_score", label=name)
        if not frame.empty and f.group_by:
            frame.columns = [f"{name} · {c}" for c in frame.columns]
        frames.append(frame)
    frames = [fr for fr in frames if not fr.empty]
    if frames:
        st.markdown(f"**Mean score — {f.describe()}**")
        line(f, pd.concat(frames, axis=1), title="mean score")

st.subheader("A/B comparison")
c = st.columns(3)
dimension = c[0].selectbox("Compare", ["prompt_version", "model"],
                           format_func=lambda d: d.replace("_", " "), key="vigil_ab_dim")
metric = c[1].selectbox("On", list(METRICS), format_func=METRICS.get, key="vigil_ab_metric")
evaluator = c[2].selectbox("Evaluator", ["any"] + [e["evaluator"] for e in evaluators],
                           key="vigil_ab_eval", disabled=metric != "score")
ab = fetch(api.compare, f.scope, dimension, metric,
           evaluator=None if evaluator == "any" or metric != "score" else evaluator)
variants = [v["variant"] for v in ab["variants"]]
if len(variants) < 2:
    st.info(f"Fewer than two {dimension.replace('_', ' ')}s have {METRICS[metric].lower()} "
            f"data in the {f.describe()}: nothing to compare yet.")
else:
    result = ab.get("comparison") or {}
    pick = st.columns(2)
    a = pick[0].selectbox("A", variants, index=variants.index(result.get("a", variants[0])),
                          key="vigil_ab_a")
    b = pick[1].selectbox("B", variants, index=variants.index(result.get("b", variants[1])),
                          key="vigil_ab_b")
    if a == b:
        st.warning("Pick two different variants.")
    else:
        if (a, b) != (result.get("a"), result.get("b")):
            ab = fetch(api.compare, f.scope, dimension, metric, a=a, b=b,
                       evaluator=None if evaluator == "any" or metric != "score"
                       else evaluator)
            result = ab["comparison"]
        by = {v["variant"]: v for v in ab["variants"]}
        m = st.columns(4)
        m[0].metric(f"A: {a}", f"{by[a]['mean']:.3f}", help=f"n = {by[a]['n']:,}")
        m[1].metric(f"B: {b}", f"{by[b]['mean']:.3f}", f"{result['difference']:+.3f}",
                    delta_color="normal" if ab["higher_is_better"] else "inverse",
                    help=f"n = {by[b]['n']:,}")
        m[2].metric("p-value", "—" if result["p_value"] is None
                    else f"{result['p_value']:.3g}", help=f"test: {result['test']}")
        m[3].metric("Samples", f"{by[a]['n']:,} / {by[b]['n']:,}")
        if result["ci_low"] is not None:
            st.caption(f"95% interval of B - A: [{result['ci_low']:+.3f}, "
                       f"{result['ci_high']:+.3f}] ({ab['meaning']}).")
        (st.success if result["significant"] else st.info)(result["verdict"])
    st.dataframe(table(ab["variants"], zone=f.zone), hide_index=True, width="stretch")

lowest = scores.get("lowest") or []
if lowest:
    st.subheader("Lowest scores")
    st.dataframe(table(lowest, ["trace_start_time", "evaluator", "score", "label", "app",
                                "model", "prompt_template_version", "rationale",
                                "trace_id"], zone=f.zone), hide_index=True, width="stretch")

sampling_by = f.group_by or "app"
st.subheader(f"Judged share by {sampling_by.replace('_', ' ')}")
slices = fetch(api.judge_sampling, f.scope, group_by=sampling_by)
if not slices:
    st.info("No judge sampling recorded in this range: it appears once the judge stage "
            "sees eligible traces.")
else:
    df = table(slices, ["slice", "eligible", "judged", "judged_by_rule", "skipped_budget",
                        "judged_share"], zone=f.zone)
    df["slice"] = df["slice"].replace("", "(none)")
    st.bar_chart(df.set_index("slice")["judged_share"])
    st.dataframe(df, hide_index=True, width="stretch")
    skipped = int(pd.to_numeric(df["skipped_budget"]).sum())
    if skipped:
        st.warning(f"{skipped} eligible traces were skipped because the judge budget ran out.")
