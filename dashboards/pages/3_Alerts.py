"""Alerts: what the analyzer paged about."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import bars, fetch, page, table

api, f = page("Alerts")

choice = st.radio("Status", ["all", "firing", "resolved"], horizontal=True)
alerts = fetch(api.alerts, None if choice == "all" else choice)
if not alerts:
    st.info("No alerts yet: the analyzer (`vigil analyze`, started by `make up`) pages here "
            "when a slice's quality, feedback, cost, latency or error rate moves past its "
            "threshold against the baseline. Nothing to do while everything is healthy.")
else:
    firing = sum(1 for a in alerts if a.get("status") == "firing")
    c = st.columns(2)
    c[0].metric("Firing", firing)
    c[1].metric("Shown", len(alerts))
    st.markdown("**Timeline** (alert events per hour)")
    events = pd.DataFrame(alerts)
    events["hour"] = pd.to_datetime(events["event_time"], utc=True,
                                    format="mixed").dt.floor("h")
    bars(f, events.pivot_table(index="hour", columns="status", values="alert_id",
                               aggfunc="count").fillna(0), title="alert events",
         interval="hour")
    st.dataframe(table(alerts, ["event_time", "status", "severity", "signal", "title",
                                "value", "baseline", "threshold", "started_at",
                                "resolved_at"], zone=f.zone),
                 hide_index=True, width="stretch")
    for a in alerts[:20]:
        with st.expander(f"[{a.get('status')}] {a.get('title') or a.get('signal')}"):
            st.write(a.get("summary") or "")
            st.json({k: a.get(k) for k in ("alert_id", "slice", "links") if k in a})
