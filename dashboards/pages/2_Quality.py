"""Quality: LLM-judge scores per evaluator over time, and how much was judged."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd
from common import fetch, page, series, table

api, f = page("Quality")

raw = st.sidebar.text_input("Evaluators (comma-separated, empty: all together)",
                            key="vigil_evaluators")
evaluators = [e.strip() for e in raw.split(",") if e.strip()]

st.subheader(f"Mean judge score — {f.range_label.lower()}")
frames = []
for name in evaluators or [None]:
    points = fetch(api.timeseries, "quality", hours=f.hours, interval=f.interval,
                   group_by=f.group_by, evaluator=name)
    frame = series(points, "mean_score", label=name or "all evaluators")
    if not frame.empty and name and f.group_by:
        frame.columns = [f"{name} · {c}" for c in frame.columns]
    frames.append(frame)
scores = pd.concat([fr for fr in frames if not fr.empty], axis=1) if any(
    not fr.empty for fr in frames) else pd.DataFrame()
if scores.empty:
    st.info("No judge scores in this time range yet: the judge stage (`vigil judge`, started "
            "by `make up`) scores sampled traces a few seconds after they are stored. "
            "Widen the time range, or check the evaluator names in the sidebar.")
else:
    st.line_chart(scores)

sampling_by = f.group_by or "app"
st.subheader(f"Judged share by {sampling_by}")
slices = fetch(api.judge_sampling, group_by=sampling_by, hours=f.hours)
if not slices:
    st.info("No judge sampling recorded in this time range: it appears once the judge "
            "stage sees eligible traces.")
else:
    df = table(slices, ["slice", "eligible", "judged", "judged_by_rule", "skipped_budget",
                        "judged_share"])
    df["slice"] = df["slice"].replace("", "(none)")
    st.bar_chart(df.set_index("slice")["judged_share"])
    st.dataframe(df, hide_index=True, width="stretch")
    skipped = int(pd.to_numeric(df["skipped_budget"]).sum())
    if skipped:
        st.warning(f"{skipped} eligible traces were skipped because the judge budget ran out.")
