"""Cost: spend by model, app and user; budget burn and forecast; cost over time."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clock import stamp
from common import START_HINT, fetch, line, money, page, series, table

api, f = page("Cost")

now = fetch(api.overview, f.scope)["current"]
if not now.get("traces"):
    st.info(f"No traffic in the {f.describe()}, so no cost. Widen the time range or clear "
            f"the filters. {START_HINT}")
else:
    c = st.columns(4)
    c[0].metric("Cost (USD)", money(now["cost_usd"]))
    c[1].metric("Cost per trace", money(now["cost_usd"] / max(now["traces"], 1)))
    c[2].metric("Input tokens", f"{int(now['input_tokens']):,}")
    c[3].metric("Output tokens", f"{int(now['output_tokens']):,}")
    st.caption(f"{f.describe().capitalize()}.")

st.subheader("Budgets")
budgets = fetch(api.budgets)
if not budgets:
    st.info("No spend budget is set for this project. Add one to the YAML file of "
            "`VIGIL_BUDGETS_FILE` (see examples/budgets.yaml); the analyzer then pages "
            "before it runs out.")
for b in budgets:
    st.markdown(f"**{b['name']}** — {money(b['spent_usd'])} of {money(b['limit_usd'])} "
                f"spent; forecast {money(b['forecast_usd'])} by "
                f"{stamp(b['period_end'], f.zone)}")
    st.progress(min(1.0, b["spent_share"]), text=f"{b['spent_share']:.0%} spent")
    if b["exceeded"]:
        st.error("Budget exceeded.")
    elif b["runs_out_at"]:
        st.warning(f"At the last hour's rate ({money(b['last_hour_usd'])}/h) it runs out "
                   f"at {stamp(b['runs_out_at'], f.zone)}.")
    if b["burn"]:
        burn = pd.DataFrame(b["burn"])
        burn["hour"] = pd.to_datetime(burn["hour"], utc=True, format="mixed")
        burn = burn.set_index("hour")[["cumulative_usd"]].rename(
            columns={"cumulative_usd": "spent (USD)"})
        burn["limit (USD)"] = b["limit_usd"]
        line(f, burn, interval="hour")

if now.get("traces"):
    st.subheader("Breakdown")
    tabs = st.tabs(["By model", "By app", "By user"])
    for tab, dimension in zip(tabs, ("model", "app", "user"), strict=True):
        with tab:
            rows = fetch(api.breakdown, dimension, f.scope, limit=25)
            df = table(rows, ["value", "traces", "cost_usd", "input_tokens",
                              "output_tokens", "latency_p95_ms"], zone=f.zone).rename(
                columns={"value": dimension})
            if df.empty:
                st.caption("Nothing here in this range.")
                continue
            st.bar_chart(df.set_index(dimension)["cost_usd"], horizontal=True)
            st.dataframe(df, hide_index=True, width="stretch")

    st.subheader("Cost over time")
    points = fetch(api.timeseries, "traffic", f.scope, interval=f.interval,
                   group_by=f.group_by)
    line(f, series(points, "cost_usd"))
