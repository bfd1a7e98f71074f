"""Vigil dashboard: overview (run with `streamlit run dashboards/Home.py`)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import START_HINT, fetch, money, page, series

api, f = page("Vigil — Overview")

stats = fetch(api.stats)
if not stats.get("traces"):
    st.info(f"No traces stored for this project yet. {START_HINT} "
            "Numbers and charts appear here as soon as the first traces are stored.")
else:
    c = st.columns(5)
    c[0].metric("Traces", f"{int(stats.get('traces') or 0):,}")
    c[1].metric("Cost (USD)", money(stats.get("cost_usd")))
    c[2].metric("Errors", f"{int(stats.get('errors') or 0):,}")
    c[3].metric("Feedback", f"{int(stats.get('feedback') or 0):,}")
    tokens = int(stats.get("input_tokens") or 0) + int(stats.get("output_tokens") or 0)
    c[4].metric("Tokens", f"{tokens:,}")
    st.caption(f"Last stored at {stats.get('last_stored_at') or '—'}")
    if stats.get("unpriced"):
        st.warning(f"{stats['unpriced']} traces have no known price (cost counted as 0).")

st.subheader(f"Traffic — {f.range_label.lower()}")
points = fetch(api.timeseries, "traffic", hours=f.hours, interval=f.interval,
               group_by=f.group_by)
if not points:
    st.info(f"No traffic in the {f.range_label.lower()}: widen the time range in the "
            "sidebar, or send traces. " + START_HINT)
else:
    left, right = st.columns(2)
    with left:
        st.markdown("**Traces**")
        st.line_chart(series(points, "traces"))
        st.markdown("**Errors**")
        st.line_chart(series(points, "errors"))
    with right:
        st.markdown("**Cost (USD)**")
        st.line_chart(series(points, "cost_usd"))
        st.markdown("**Latency p95 (ms)**")
        st.line_chart(series(points, "latency_p95_ms"))
