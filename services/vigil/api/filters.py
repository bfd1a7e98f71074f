"""The time window and slice filters every read takes, as FastAPI dependencies.

A filter only ever becomes a bound query parameter; column names come from the
fixed maps here, never from the request, so no user input is spliced into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query

MAX_WINDOW = timedelta(days=90)
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
TEXT = 200  # longest slice value a filter accepts

# Slice name -> column in the traces table (the scores table uses the same names).
SLICE_COLUMNS = {"app": "app", "model": "model", "prompt_version": "prompt_template_version",
                 "environment": "environment"}
# Dimensions a breakdown or comparison may group by.
DIMENSIONS = {**SLICE_COLUMNS, "provider": "provider", "user": "user_id"}


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def previous(self) -> Window:
        """The window of the same length just before this one (for deltas)."""
        return Window(self.start - (self.end - self.start), self.start)

    def params(self) -> dict[str, str]:
        return {"t0": sql_time(self.start), "t1": sql_time(self.end)}

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def time_window(
    hours: Annotated[float | None, Query(gt=0, le=24 * 90, description=(
        "Window length ending now (or at `end`); default 24 when `start` is not given."))
    ] = None,
    start: Annotated[datetime | None, Query(description="Window start, ISO 8601.")] = None,
    end: Annotated[datetime | None, Query(description="Window end, ISO 8601; default now.")
                   ] = None,
) -> Window:
    """`hours` back from `end`, or `start`..`end`; 400 on an empty or too long window."""
    if hours is not None and start is not None:
        raise HTTPException(400, "give either 'hours' or 'start' (with an optional 'end'), "
                                 "not both")
    for given in (start, end):
        if given is not None and not EARLIEST <= _utc(given) <= LATEST:
            raise HTTPException(400, f"'start' and 'end' must lie between "
                                     f"{EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    stop = _utc(end) if end else datetime.now(UTC)
    begin = _utc(start) if start else stop - timedelta(hours=hours or 24)
    if begin >= stop:
        raise HTTPException(400, "the window is empty: 'start' must be before 'end'")
    if stop - begin > MAX_WINDOW:
        raise HTTPException(400, f"the window is longer than {MAX_WINDOW.days} days "
                                 "(the retention limit); narrow it")
    return Window(begin, stop)


@dataclass(frozen=True)
class SliceFilter:
    """Equality filters on the slice columns; empty means no filter."""
    values: dict[str, str]

    def sql(self, prefix: str = "") -> str:
        """' AND col = {f_name:String} ...' for the set filters (names from SLICE_COLUMNS)."""
        return "".join(f" AND {prefix}{SLICE_COLUMNS[name]} = {{f_{name}:String}}"
                       for name in self.values)

    def params(self) -> dict[str, str]:
        return {f"f_{name}": value for name, value in self.values.items()}

    def to_json(self) -> dict[str, str]:
        return dict(self.values)


def slice_filter(
    app: Annotated[str | None, Query(max_length=TEXT)] = None,
    model: Annotated[str | None, Query(max_length=TEXT)] = None,
    prompt_version: Annotated[str | None, Query(max_length=TEXT)] = None,
    environment: Annotated[str | None, Query(max_length=TEXT)] = None,
) -> SliceFilter:
    given = {"app": app, "model": model, "prompt_version": prompt_version,
             "environment": environment}
    return SliceFilter({k: v for k, v in given.items() if v})


TimeWindow = Annotated[Window, Depends(time_window)]
Slice = Annotated[SliceFilter, Depends(slice_filter)]


def in_window(column: str) -> str:
    """`column` within the bound window [t0, t1) (`column` is a fixed name, never input)."""
    return f"{column} >= {{t0:DateTime64(3)}} AND {column} < {{t1:DateTime64(3)}}"


def base_params(project_id: str, window: Window, where: SliceFilter) -> dict[str, Any]:
    return {"p": project_id, **window.params(), **where.params()}


def _utc(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise HTTPException(400, f"time {value.isoformat()} is out of range") from exc


def sql_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
