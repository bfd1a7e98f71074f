"""How the dashboard shows time: a 24-hour clock in the zone the viewer picked (UTC by
default, or the browser's), and the zone stated wherever a time is shown.

Pure functions over pandas values; the page keeps the pick (see common.sidebar)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

UTC = "UTC"

# bucket interval -> how an axis tick and a table cell read at that grain
AXIS_FORMATS = {"minute": "%H:%M", "hour": "%d %b %H:%M", "day": "%d %b"}
CELL_FORMAT = "%Y-%m-%d %H:%M:%S"
# bucket interval -> the smallest step between ticks, in ms (no two ticks in one bucket)
TICK_STEPS_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000}


def known_zone(name: str | None) -> str:
    """`name` if it is an IANA zone this machine knows, else UTC."""
    if not name:
        return UTC
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
    return name


def zone_choices(browser_zone: str | None) -> list[str]:
    """UTC first, then the browser's zone when it differs (and is known)."""
    zone = known_zone(browser_zone)
    return [UTC] if zone == UTC else [UTC, zone]


def to_zone(values: Any, zone: str) -> pd.DatetimeIndex | pd.Series:
    """Instants (ISO strings, datetimes; naive ones are UTC) as wall-clock times in
    `zone`, without a zone attached: what a reader in that zone sees on a clock."""
    parsed = pd.to_datetime(values, utc=True, format="mixed")
    if isinstance(parsed, pd.Series):
        return parsed.dt.tz_convert(zone).dt.tz_localize(None)
    return pd.DatetimeIndex(parsed).tz_convert(zone).tz_localize(None)


def stamp(value: str | datetime | None, zone: str) -> str:
    """One instant as `2026-12-03 20:38 UTC` (24-hour clock); empty for no value."""
    if value is None or value == "":
        return ""
    return f"{to_zone([value], zone)[0]:%Y-%m-%d %H:%M} {zone}"


def time_columns(frame: pd.DataFrame, columns: list[str], zone: str) -> pd.DataFrame:
    """A copy of `frame` whose time columns read as 24-hour text in `zone`, each column
    renamed to say the zone (`started_at (UTC)`), so a table and its CSV agree."""
    out = frame.copy()
    renames = {}
    for column in columns:
        if column not in out.columns:
            continue
        cells = out[column]
        present = cells.notna() & (cells.astype(str) != "")
        shown = pd.Series("", index=out.index, dtype=object)
        if present.any():
            shown[present] = to_zone(cells[present], zone).dt.strftime(CELL_FORMAT)
        out[column] = shown
        renames[column] = f"{column} ({zone})"
    return out.rename(columns=renames)
