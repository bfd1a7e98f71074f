"""Traces: the latest traces and one trace in detail."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import START_HINT, fetch, page, table

api, f = page("Traces")

limit = st.sidebar.slider("Recent traces", 10, 500, 50, step=10)
traces = fetch(api.traces, limit)
if not traces:
    st.info(f"No traces yet. {START_HINT}")
    st.stop()

st.dataframe(table(traces, ["start_time", "trace_id", "app", "model", "status",
                            "latency_ms", "input_tokens", "output_tokens", "total_cost"]),
             hide_index=True, width="stretch")

ids = list(dict.fromkeys(t["trace_id"] for t in traces))
chosen = st.selectbox("Trace", ids)
detail = fetch(api.trace, chosen)

calls = detail.get("calls") or []
st.subheader(f"Trace {chosen}")
st.markdown(f"**Calls ({len(calls)})**")
st.dataframe(table(calls), hide_index=True, width="stretch")
for name, empty in (("scores", "Not judged (yet): the judge samples traces, so many are "
                               "never scored."),
                    ("feedback", "No user feedback on this trace."),
                    ("spans", "No OpenTelemetry spans for this trace.")):
    rows = detail.get(name) or []
    st.markdown(f"**{name.capitalize()} ({len(rows)})**")
    if rows:
        st.dataframe(table(rows), hide_index=True, width="stretch")
    else:
        st.caption(empty)
