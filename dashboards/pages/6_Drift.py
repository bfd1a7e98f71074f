"""Drift: evidently drift analyses of inputs and outputs."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import fetch, line, page, table

api, f = page("Drift")

reports = fetch(api.drift_reports, f.hours)
if not reports:
    st.info(f"No drift reports in the {f.range_label.lower()}: the analyzer compares each "
            "app/model's recent traffic against a reference window on a schedule. Widen the "
            "time range, or wait for its next run once traffic flows.")
    st.stop()

points = fetch(api.drift_features, f.scope)
if points:
    st.markdown("**Per-feature drift over time** (effect size; above 0.1 is material)")
    frame = pd.DataFrame(points)
    frame["run_at"] = pd.to_datetime(frame["run_at"], utc=True, format="mixed")
    frame["line"] = frame["app"] + "/" + frame["model"] + " · " + frame["feature"]
    frame["effect_size"] = pd.to_numeric(frame["effect_size"], errors="coerce")
    line(f, frame.pivot_table(index="run_at", columns="line", values="effect_size",
                                    aggfunc="mean"))

df = table(reports, ["run_at", "report_id", "app", "model", "drifted_features",
                     "current_start", "current_end", "has_html"], zone=f.zone)
if "drifted_features" in df:
    df["drifted_features"] = df["drifted_features"].map(
        lambda v: ", ".join(v) if isinstance(v, list) else v)
st.dataframe(df, hide_index=True, width="stretch")

by_id = {r["report_id"]: r for r in reports}
chosen = st.selectbox("Report", list(by_id), format_func=lambda r: (
    f"{by_id[r].get('run_at')} · {by_id[r].get('app')}/{by_id[r].get('model')}"))
report = by_id[chosen]
drifted = report.get("drifted_features") or []
if drifted:
    st.warning("Drifted: " + ", ".join(drifted))
else:
    st.success("No drifted features in this analysis.")
with st.expander("Summary"):
    st.json(report.get("report") or {})
if report.get("has_html"):
    # The evidently HTML comes from our own analyzer; it runs its JS (plotly) in the iframe.
    html = fetch(api.drift_html, chosen)
    if hasattr(st, "iframe"):  # streamlit >= 1.5x: st.components.v1.html is deprecated
        st.iframe(html, height=900)
    else:
        import streamlit.components.v1 as components

        components.html(html, height=900, scrolling=True)
else:
    st.caption("This analysis has no evidently HTML report.")
