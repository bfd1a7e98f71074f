"""Vigil dashboard: overview (run with `streamlit run dashboards/Home.py`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import START_HINT, fetch, line, money, page, series, table

api, f = page("Vigil — Overview")

body = fetch(api.overview, f.scope)
now, before = body["current"], body["previous"]


def delta(key: str, scale: float = 1.0, fmt: str = "{:+,.0f}") -> str | None:
    if before.get(key) is None or now.get(key) is None:
        return None
    return fmt.format((now[key] - before[key]) * scale)


if not now.get("traces"):
    st.info(f"No traces in the {f.describe()}. Widen the time range or clear the filters in "
            f"the sidebar. {START_HINT}")
else:
    st.caption(f"{f.describe().capitalize()}; changes against the {f.range_label.lower()} "
               "before it.")
    c = st.columns(6)
    c[0].metric("Traces", f"{int(now['traces']):,}", delta("traces"))
    c[1].metric("Cost (USD)", money(now["cost_usd"]), delta("cost_usd", fmt="{:+,.4f}"),
                delta_color="inverse")
    c[2].metric("Error rate", f"{now['error_rate']:.1%}",
                delta("error_rate", 100, "{:+.1f} pts"), delta_color="inverse")
    c[3].metric("Latency p95 (ms)", f"{now['latency_p95_ms'] or 0:,.0f}",
                delta("latency_p95_ms"), delta_color="inverse")
    score = now.get("mean_score")
    c[4].metric("Mean judge score", "—" if score is None else f"{score:.2f}",
                delta("mean_score", fmt="{:+.3f}"))
    thumbs = int(now.get("thumbs") or 0)
    c[5].metric("Thumbs down", "—" if not thumbs else f"{now['thumbs_down'] / thumbs:.1%}",
                help=f"{int(now.get('thumbs_down') or 0)} of {thumbs} thumbs ratings")
    st.caption(f"{int(now.get('sessions') or 0):,} sessions · {int(now.get('users') or 0):,} "
               f"users · {int(now.get('judgments') or 0):,} judgments · "
               f"{int(now.get('feedback') or 0):,} feedback")

    points = fetch(api.timeseries, "traffic", f.scope, interval=f.interval,
                   group_by=f.group_by)
    left, right = st.columns(2)
    with left:
        st.markdown("**Traces**")
        line(f, series(points, "traces"))
        st.markdown("**Errors**")
        line(f, series(points, "errors"))
    with right:
        st.markdown("**Cost (USD)**")
        line(f, series(points, "cost_usd"))
        st.markdown("**Latency p95 (ms)**")
        line(f, series(points, "latency_p95_ms"))

    st.subheader("By app")
    rows: list[dict[str, Any]] = fetch(api.breakdown, "app", f.scope)
    st.dataframe(table(rows, ["value", "traces", "cost_usd", "error_rate", "latency_p50_ms",
                              "latency_p95_ms", "judgments", "mean_score"], zone=f.zone)
                 .rename(columns={"value": "app"}), hide_index=True, width="stretch")
