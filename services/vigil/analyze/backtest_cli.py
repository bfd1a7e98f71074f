"""`vigil analyze backtest`: the thin adapter around `run_backtest` (the read API as the
reader, a progress bar on stderr, the alerts and a summary on stdout, optional JSON)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx

from vigil.analyze.backtest import BacktestResult, cycle_times, event_row, run_backtest
from vigil.analyze.worker import StoreReader
from vigil.core.alerts import AlertEvent
from vigil.settings import Settings


def parse_time(text: str) -> datetime:
    """ISO 8601; a time without a zone is UTC."""
    t = datetime.fromisoformat(text.strip())
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def backtest_command(settings: Settings, start_text: str, end_text: str,
                     json_file: Path | None) -> int:
    """Run the backtest and report it; the exit code."""
    try:
        start, end = parse_time(start_text), parse_time(end_text)
        if end <= start:
            raise ValueError("--to must be after --from")
        total = len(cycle_times(start, end, settings.analyzer_interval_s))
    except ValueError as exc:
        click.echo(f"bad time range: {exc}", err=True)
        return 2
    if not settings.internal_token.get_secret_value():
        click.echo("the backtest reads history as the analyzer does: set VIGIL_INTERNAL_TOKEN "
                   "(the store owner's) and VIGIL_API_URL", err=True)
        return 2
    try:
        with click.progressbar(length=total, label="backtest", file=sys.stderr,
                               show_pos=True) as bar:
            result = run_backtest(settings, StoreReader(settings), start, end,
                                  progress=lambda done, _: bar.update(1))
    except httpx.HTTPError as exc:
        click.echo(f"cannot read the history through the read API at {settings.api_url} "
                   f"({exc}); is the sink (or `vigil api`) running? Set VIGIL_API_URL to "
                   "point elsewhere.", err=True)
        return 1
    for event in result.events:
        click.echo(format_event(event))
    click.echo(format_summary(result))
    if json_file is not None:
        json_file.write_text(json.dumps([event_row(e) for e in result.events], indent=1) + "\n")
        click.echo(f"wrote {len(result.events)} alert events to {json_file}", err=True)
    return 0


def format_event(e: AlertEvent) -> str:
    at = datetime.fromisoformat(e.event_time)
    where = "/".join(v or "*" for v in (e.slice["app"], e.slice["model"],
                                          e.slice["prompt_version"]))
    return (f"{at:%Y-%m-%d %H:%M}  {e.status:<8} {e.severity:<8} {e.signal:<20} "
            f"{e.project_id}:{where}  value {e.value:.4g} vs expected {e.baseline:.4g} "
            f"(threshold {e.threshold:.4g})")


def format_summary(result: BacktestResult) -> str:
    days = (result.end - result.start).total_seconds() / 86400
    lines = [
        f"\n{result.start:%Y-%m-%d %H:%M} .. {result.end:%Y-%m-%d %H:%M} UTC: "
        f"{result.cycles} cycles over {days:.2f} simulated days; {len(result.pages)} pages, "
        f"{result.pages_per_week():.1f} per simulated week"
        + (f"; {result.failed_cycles} cycles failed and were skipped"
           if result.failed_cycles else ""),
        f"{'signal':<22}{'pages':>7}{'per week':>10}",
    ]
    for signal, n in result.pages_per_signal().items():
        lines.append(f"{signal:<22}{n:>7}{n / result.weeks:>10.1f}")
    return "\n".join(lines)
