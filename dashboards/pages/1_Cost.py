"""Cost: spend and tokens by model and over time."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import START_HINT, fetch, money, page, series, table

api, f = page("Cost")

stats = fetch(api.stats)
models = stats.get("by_model") or []
if not models:
    st.info(f"No priced traffic yet: cost per model appears once traces are stored. {START_HINT}")
else:
    c = st.columns(3)
    c[0].metric("Total cost (USD)", money(stats.get("cost_usd")))
    c[1].metric("Input tokens", f"{int(stats.get('input_tokens') or 0):,}")
    c[2].metric("Output tokens", f"{int(stats.get('output_tokens') or 0):,}")
    if stats.get("unpriced"):
        st.warning(f"{stats['unpriced']} traces use a model without a known price; "
                   "their cost is counted as 0.")
    st.subheader("By model (all time)")
    df = table(models, ["provider", "model", "traces", "cost_usd", "input_tokens",
                        "output_tokens", "latency_p95_ms"])
    st.dataframe(df, hide_index=True, width="stretch")
    st.bar_chart(df.assign(label=df["provider"] + "/" + df["model"])
                 .set_index("label")["cost_usd"])

st.subheader(f"Cost over time — {f.range_label.lower()}")
points = fetch(api.timeseries, "traffic", hours=f.hours, interval=f.interval,
               group_by=f.group_by)
if not points:
    st.info(f"No traffic in the {f.range_label.lower()}: widen the time range in the sidebar.")
else:
    st.line_chart(series(points, "cost_usd"))
