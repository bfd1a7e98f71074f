"""How the dashboard shows time: 24-hour clock, the picked zone, stated on axes and
column names; and the filters as a shareable link."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "dashboards"))

import charts
import clock
from common import Filters, from_link, table, to_link


def test_an_evening_time_reads_on_a_24_hour_clock_in_utc_and_in_another_zone() -> None:
    assert clock.stamp("2026-12-03T20:38:00Z", "UTC") == "2026-12-03 20:38 UTC"
    assert clock.stamp("2026-12-03T20:38:00+00:00", "Asia/Tokyo") == \
        "2026-12-04 05:38 Asia/Tokyo"
    assert clock.stamp("2026-12-03 20:38:00", "UTC") == "2026-12-03 20:38 UTC"  # naive: UTC
    assert clock.stamp(None, "UTC") == ""


def test_unknown_zones_fall_back_to_utc_and_the_browser_zone_is_offered_second() -> None:
    assert clock.known_zone("Mars/Olympus") == "UTC"
    assert clock.known_zone(None) == "UTC"
    assert clock.zone_choices("Europe/Berlin") == ["UTC", "Europe/Berlin"]
    assert clock.zone_choices("UTC") == ["UTC"]
    assert clock.zone_choices("nonsense") == ["UTC"]


def test_time_columns_of_a_table_read_in_the_zone_and_say_which() -> None:
    rows = [{"trace_id": "t1", "start_time": "2026-12-03T20:38:05.123Z", "cost_usd": 1.0,
             "resolved_at": None}]
    df = table(rows, ["start_time", "trace_id", "resolved_at"], zone="America/New_York")
    assert list(df.columns) == ["start_time (America/New_York)", "trace_id",
                                "resolved_at (America/New_York)"]
    assert df.iloc[0, 0] == "2026-12-03 15:38:05"
    assert df.iloc[0, 2] == ""
    # without a zone the table is as it was
    assert list(table(rows, ["start_time"]).columns) == ["start_time"]


def test_a_chart_draws_wall_clock_times_of_the_zone_on_a_24_hour_utc_axis() -> None:
    index = pd.to_datetime(["2026-12-03T20:38:00Z", "2026-12-03T20:39:00Z"], utc=True)
    frame = pd.DataFrame({"chat": [1.0, 2.0], "search": [3.0, None]}, index=index)
    rows = charts.long_frame(frame, "Asia/Kolkata")
    assert list(rows[charts.SERIES]) == ["chat", "chat", "search"]
    # 20:38 UTC is 02:08 the next day in Kolkata, carried as that wall time on a UTC scale
    assert rows[charts.TIME].iloc[0] == pd.Timestamp("2026-12-04T02:08:00", tz="UTC")
    spec = charts.spec(frame, "Asia/Kolkata", "minute").to_dict()
    x = spec["encoding"]["x"]
    assert x["axis"]["format"] == "%H:%M" and x["axis"]["formatType"] == "utc"
    # Streamlit's theme drops `format` on a time axis; the label expression survives it
    assert x["axis"]["labelExpr"] == "utcFormat(datum.value, '%H:%M')"
    assert x["scale"] == {"type": "utc"}
    assert x["axis"]["tickMinStep"] == 60_000  # no two ticks inside one minute bucket
    assert x["title"] == "time (Asia/Kolkata)"
    week = charts.spec(frame, "UTC", "hour").to_dict()["encoding"]["x"]["axis"]["format"]
    assert week == "%d %b %H:%M"
    assert "%I" not in week and "%p" not in week


def test_filters_round_trip_through_a_link_and_bad_values_are_ignored() -> None:
    f = Filters("Last 7 days", 168, "hour", "model", {"app": "chat"}, "Europe/Berlin")
    link = to_link(f)
    assert link == {"range": "7d", "app": "chat", "tz": "Europe/Berlin", "group_by": "model"}
    assert from_link(link) == {"vigil_range": "Last 7 days", "vigil_group_by": "model",
                               "vigil_zone": "Europe/Berlin", "vigil_slice_app": "chat"}
    assert from_link({"range": "3y", "group_by": "colour", "tz": "Mars/Base"}) == \
        {"vigil_zone": "UTC"}
