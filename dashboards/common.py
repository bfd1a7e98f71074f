"""Shared pieces of the dashboard pages: the API client, sidebar filters, error handling
and turning the read API's series into chart-ready frames."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import ApiError, VigilApi
from charts import time_chart
from clock import UTC, known_zone, time_columns, zone_choices

T = TypeVar("T")

# label -> (hours, bucket interval)
RANGES: dict[str, tuple[float, str]] = {
    "Last hour": (1, "minute"),
    "Last 6 hours": (6, "minute"),
    "Last 24 hours": (24, "minute"),
    "Last 7 days": (24 * 7, "hour"),
    "Last 30 days": (24 * 30, "day"),
}
# the time range as it reads in a link (?range=7d)
RANGE_CODES = {"Last hour": "1h", "Last 6 hours": "6h", "Last 24 hours": "24h",
               "Last 7 days": "7d", "Last 30 days": "30d"}
GROUP_BYS = ("none", "app", "model", "prompt_version", "environment")

START_HINT = ("Start the system with `make up` (it runs demo traffic), or send traces to "
              "the ingest API with your project's key.")


SLICE_LABELS = {"app": "App", "model": "Model", "prompt_version": "Prompt version",
                "environment": "Environment"}
ALL = "All"
REFRESH_CHOICES = {"Off": None, "30 s": 30, "1 min": 60, "5 min": 300}


@dataclass(frozen=True)
class Filters:
    range_label: str
    hours: float
    interval: str
    group_by: str | None        # None: no slicing
    slices: dict[str, str]      # slice filters in force (app, model, ...)
    zone: str = UTC             # times are shown on a 24-hour clock in this zone

    @property
    def scope(self) -> dict[str, Any]:
        """The query parameters every read of the page takes."""
        return {"hours": self.hours, **self.slices}

    def describe(self) -> str:
        picked = ", ".join(f"{SLICE_LABELS[k].lower()} {v}" for k, v in self.slices.items())
        return self.range_label.lower() + (f" · {picked}" if picked else "")


def page(title: str) -> tuple[VigilApi, Filters]:
    """Page setup shared by every page: config, title, sidebar filters and the client."""
    st.set_page_config(page_title=f"Vigil · {title}", layout="wide")
    st.title(title)
    api = VigilApi(api_key=signed_in_key())
    filters = sidebar(api)
    auto_refresh(REFRESH_CHOICES[st.session_state["vigil_refresh"]])
    return api, filters


def signed_in_key() -> str | None:
    """The API key this browser session reads with. With VIGIL_API_KEY set for the
    dashboard (`vigil up` does so on loopback with the demo key) that key; otherwise the
    page asks for one and shows only that key's project."""
    if VigilApi().api_key:
        return None  # configured for the dashboard process
    ss = st.session_state
    if ss.get("vigil_api_key"):
        if st.sidebar.button("Sign out"):
            del ss["vigil_api_key"]
            st.rerun()
        return str(ss["vigil_api_key"])
    with st.form("vigil_sign_in"):
        st.write("Sign in with your project's API key (`vigil keys create` makes one). "
                 "You will see that project's data only.")
        key = st.text_input("API key", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted and key.strip():
        try:
            VigilApi(api_key=key.strip()).stats()
        except ApiError as exc:
            st.error("That key was not accepted." if exc.status == 401 else str(exc))
        else:
            ss["vigil_api_key"] = key.strip()
            st.rerun()
    st.stop()
    raise AssertionError("unreachable")


def from_link(query: dict[str, str]) -> dict[str, str]:
    """The session-state filters a shared link (`?range=7d&app=support-bot&tz=UTC`) asks
    for; unknown or malformed values are left out, so a stale link still opens."""
    picked: dict[str, str] = {}
    by_code = {code: label for label, code in RANGE_CODES.items()}
    if query.get("range") in by_code:
        picked["vigil_range"] = by_code[query["range"]]
    if query.get("group_by") in GROUP_BYS:
        picked["vigil_group_by"] = query["group_by"]
    if query.get("tz"):
        picked["vigil_zone"] = known_zone(query["tz"])
    for name in SLICE_LABELS:
        if query.get(name):
            picked[f"vigil_slice_{name}"] = query[name]
    return picked


def to_link(f: Filters) -> dict[str, str]:
    """The query parameters that reopen this view (the inverse of from_link)."""
    link = {"range": RANGE_CODES[f.range_label], **f.slices, "tz": f.zone}
    if f.group_by:
        link["group_by"] = f.group_by
    return link


def sidebar(api: VigilApi) -> Filters:
    """Time range, slice filters, group-by and time zone, kept across pages in
    st.session_state and in the page's URL, so a view can be shared as a link."""
    ss = st.session_state
    if not ss.get("vigil_link_read"):
        ss.update(from_link(st.query_params.to_dict()))
        ss["vigil_link_read"] = True
    ss.setdefault("vigil_range", "Last 24 hours")
    ss.setdefault("vigil_group_by", "none")
    ss.setdefault("vigil_refresh", "1 min")
    ss.setdefault("vigil_zone", UTC)
    ranges = list(RANGES)
    with st.sidebar:
        st.header("Filters")
        label = st.selectbox("Time range", ranges, index=ranges.index(ss["vigil_range"]))
        hours, interval = RANGES[label]
        try:
            known = api.slices(hours)
        except ApiError:
            known = {}  # the page's own reads show the error; filters stay usable
        slices: dict[str, str] = {}
        for name, text in SLICE_LABELS.items():
            options = [ALL, *known.get(name, [])]
            current = ss.get(f"vigil_slice_{name}", ALL)
            if current not in options:
                options.append(current)  # keep a pick that has no traffic in this range
            chosen = st.selectbox(text, options, index=options.index(current),
                                  key=f"vigil_slice_{name}_box")
            ss[f"vigil_slice_{name}"] = chosen
            if chosen != ALL:
                slices[name] = chosen
        group = st.selectbox("Group charts by", GROUP_BYS,
                             index=GROUP_BYS.index(ss["vigil_group_by"]))
        zones = zone_choices(st.context.timezone)
        if ss["vigil_zone"] not in zones:
            zones.append(ss["vigil_zone"])  # a zone a shared link asked for
        zone = st.selectbox("Times in", zones, index=zones.index(ss["vigil_zone"]),
                            help="Every time is shown on a 24-hour clock in this zone: "
                                 "UTC, or your browser's.")
        refresh = st.selectbox("Auto-refresh", list(REFRESH_CHOICES),
                               index=list(REFRESH_CHOICES).index(ss["vigil_refresh"]))
        st.caption(f"Read API: {api.base_url}")
    ss["vigil_range"], ss["vigil_group_by"], ss["vigil_refresh"] = label, group, refresh
    ss["vigil_zone"] = zone
    f = Filters(label, hours, interval, None if group == "none" else group, slices, zone)
    st.query_params.from_dict(to_link(f))
    return f


def auto_refresh(seconds: int | None) -> None:
    """Re-run the whole page every `seconds` without blocking it: a timed fragment whose
    timer-driven runs (not the ones inside a full page run) ask for a page rerun."""
    st.session_state["vigil_full_run"] = True
    if not seconds:
        return

    @st.fragment(run_every=seconds)
    def tick() -> None:
        if st.session_state.get("vigil_full_run"):
            st.session_state["vigil_full_run"] = False
            return
        st.rerun()

    tick()


def fail(exc: ApiError) -> NoReturn:
    st.error(str(exc))
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises; keeps type checkers honest


def fetch(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call the API; on failure show a readable error and stop the page (no traceback)."""
    try:
        return fn(*args, **kwargs)
    except ApiError as exc:
        fail(exc)


def series(points: list[dict[str, Any]], metric: str, label: str | None = None
           ) -> pd.DataFrame:
    """Points of /v1/timeseries as a frame indexed by bucket, one column per slice."""
    if not points:
        return pd.DataFrame()
    df = pd.DataFrame(points)
    if metric not in df:
        return pd.DataFrame()
    df["bucket"] = pd.to_datetime(df["bucket"], utc=True, format="mixed")
    df["slice"] = df.get("slice", "").fillna("").astype(str)
    df["slice"] = df["slice"].where(df["slice"] != "", label or metric)
    df[metric] = pd.to_numeric(df[metric], errors="coerce")
    return df.pivot_table(index="bucket", columns="slice", values=metric, aggfunc="sum")


def line(f: Filters, frame: pd.DataFrame, title: str | None = None,
         interval: str | None = None) -> None:
    """A time chart of a wide frame on a 24-hour axis in the picked zone."""
    time_chart(frame, f.zone, interval or f.interval, title=title)


def bars(f: Filters, frame: pd.DataFrame, title: str | None = None,
         interval: str | None = None) -> None:
    time_chart(frame, f.zone, interval or f.interval, kind="bar", title=title)


TIME_SUFFIXES = ("_at", "_time", "_start", "_end")


def table(rows: list[dict[str, Any]], columns: list[str] | None = None,
          zone: str | None = None) -> pd.DataFrame:
    """Rows as a frame with `columns` in order. With `zone`, time columns (`*_at`,
    `*_time`, `*_start`, `*_end`) read on a 24-hour clock in that zone and say so in
    their names, in the table and its CSV download alike."""
    df = pd.DataFrame(rows)
    if columns:
        df = df[[c for c in columns if c in df.columns]]
    if zone:
        df = time_columns(df, [c for c in df.columns if str(c).endswith(TIME_SUFFIXES)],
                          zone)
    return df


def money(value: Any) -> str:
    return f"${float(value or 0):,.4f}"
