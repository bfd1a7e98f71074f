"""Time-series charts with a 24-hour time axis in the viewer's zone, its name on the axis.

Streamlit's own `st.line_chart` labels hours on a 12-hour clock without AM/PM (20:38
reads 08:38), so every time chart goes through here instead."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from clock import AXIS_FORMATS, TICK_STEPS_MS, to_zone

TIME = "time"
SERIES = "series"
VALUE = "value"


def long_frame(frame: pd.DataFrame, zone: str) -> pd.DataFrame:
    """A wide frame (time index, one column per series) as rows of (time, series, value),
    times as wall-clock times in `zone`."""
    out = frame.copy()
    # wall-clock times labelled UTC: whether streamlit sends them as ISO text (with
    # +00:00) or as Arrow epoch numbers, a UTC scale draws the wall clock of `zone`
    out.index = to_zone(out.index, zone).tz_localize("UTC")
    out.index.name = TIME
    out.columns = [str(c) for c in out.columns]
    rows = out.reset_index().melt(id_vars=TIME, var_name=SERIES, value_name=VALUE)
    return rows.dropna(subset=[VALUE])


def spec(frame: pd.DataFrame, zone: str, interval: str = "minute", kind: str = "line",
         title: str | None = None) -> alt.Chart:
    """The chart for a wide frame, on a UTC scale with UTC formats (see long_frame), so
    the browser's own zone does not shift the times again."""
    rows = long_frame(frame, zone)
    axis_format = AXIS_FORMATS.get(interval, AXIS_FORMATS["minute"])
    # labelExpr as well as format: Streamlit's chart theme replaces an axis `format` on a
    # time axis with Vega's default (12-hour clock), but leaves an expression alone
    x = alt.X(f"{TIME}:T", title=f"time ({zone})", scale=alt.Scale(type="utc"),
              axis=alt.Axis(format=axis_format, formatType="utc", labelOverlap=True,
                            tickMinStep=TICK_STEPS_MS.get(interval, TICK_STEPS_MS["minute"]),
                            labelExpr=f"utcFormat(datum.value, '{axis_format}')"))
    tooltip: list[Any] = [
        alt.Tooltip(f"{TIME}:T", title=f"time ({zone})", format="%Y-%m-%d %H:%M",
                    formatType="utc"),
        alt.Tooltip(f"{SERIES}:N", title="series"),
        alt.Tooltip(f"{VALUE}:Q", title=title or "value", format=",.4~f"),
    ]
    base = alt.Chart(rows)
    mark = base.mark_bar() if kind == "bar" else base.mark_line(point=len(rows) < 60)
    return mark.encode(x=x, y=alt.Y(f"{VALUE}:Q", title=title),
                       color=alt.Color(f"{SERIES}:N", title=None), tooltip=tooltip)


def time_chart(frame: pd.DataFrame, zone: str, interval: str = "minute",
               kind: str = "line", title: str | None = None) -> None:
    """Draw a wide frame; a single time bucket (a young system) is drawn as bars so it
    shows."""
    if frame.empty:
        return
    if len(frame.index) < 2:
        kind = "bar"
    st.altair_chart(spec(frame, zone, interval, kind, title), width="stretch")
