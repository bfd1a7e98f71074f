"""`vigil import FILE`: the adapter around `Importer` (the key's project, the store writer the
settings name, a progress bar on stderr, the rejects file, the summary on stdout).

The writer: through the store owner's write endpoint when VIGIL_STORE_WRITER_URL is set
(the embedded store is held by a running `vigil up` or sink), else straight into the store,
which this process opens and migrates (a ClickHouse server, or the embedded store when no
other process holds it: if one does, it says what to set).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import click
import orjson

from vigil.access.keyring import KeyRing
from vigil.core.errors import StoreUnavailable
from vigil.core.prices import PriceBook, load_price_overrides
from vigil.enrich.stage import EnrichConfig
from vigil.events.validate import Limits
from vigil.judge.budget import JudgeBudget
from vigil.judge.config import load_judge_config
from vigil.judge.evaluators import make_evaluators
from vigil.judge.sampling import Sampler
from vigil.judge.stage import JudgeStage
from vigil.launch.importer import Importer, ImportReport
from vigil.settings import Settings, redact_url
from vigil.store.writer import RowsRefused, StoreWriter

REJECT_TEXT_CHARS = 10_000  # of a rejected line, kept in the rejects file
PROGRESS_EVERY = 2_000  # lines between progress bar updates


class ImportStopped(Exception):
    """The import cannot start or go on; the message says why (exit code 1 or 2)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def import_command(settings: Settings, path: Path, key: str, rejects: Path | None) -> int:
    """Import the file and report; the exit code (0 also when some lines were rejected)."""
    rejects = rejects or path.with_name(path.name + ".rejects.jsonl")
    try:
        project = KeyRing.from_settings(settings).project_for_key(key)
        if project is None:
            raise ImportStopped("unknown or revoked API key (--key or VIGIL_API_KEY): the key "
                                "decides the project the history belongs to", 2)
        total = count_lines(path)
        with open_writer(settings) as writer, RejectsFile(rejects) as rejected:
            report, seconds = run_import(settings, path, total, writer, project, rejected)
    except ImportStopped as exc:
        click.echo(str(exc), err=True)
        return exc.code
    click.echo(summary(report, seconds, project, rejects))
    return 0


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError as exc:
        raise ImportStopped(f"cannot read {path}: {exc}", 2) from exc


def run_import(settings: Settings, path: Path, total: int, writer: StoreWriter, project: str,
               rejected: RejectsFile) -> tuple[ImportReport, float]:
    now = datetime.now(UTC)
    config = load_judge_config(settings)
    judge = JudgeStage(sampler=Sampler(config), budget=JudgeBudget(config),
                       builtin=tuple(make_evaluators()), clock=lambda: now)
    overrides = (load_price_overrides(settings.price_overrides_file)
                 if settings.price_overrides_file else [])
    enrich = EnrichConfig(prices=PriceBook(overrides), mask_pii=settings.pii_masking,
                          pii_kinds=settings.pii_kind_set)
    importer = Importer(writer, project, enrich, judge,
                        Limits.from_settings(settings), now, rejected.add,
                        batch_rows=settings.sink_batch_rows)
    started = time.perf_counter()

    def rate(_: object) -> str:
        return f"{importer.report.lines / max(time.perf_counter() - started, 1e-6):,.0f} lines/s"

    try:
        with path.open("rb") as f, click.progressbar(
                length=total, label="import", file=sys.stderr, show_pos=True,
                item_show_func=rate) as bar:
            for number, line in enumerate(f, start=1):
                importer.feed(number, line)
                if number % PROGRESS_EVERY == 0:
                    bar.update(PROGRESS_EVERY, number)
            report = importer.finish()
            bar.update(total - bar.pos)
    except (StoreUnavailable, RowsRefused) as exc:
        raise ImportStopped(f"the store did not take a batch ({exc}); what was written "
                            "stays, and importing the file again stores only the rest") from exc
    return report, time.perf_counter() - started


@contextlib.contextmanager
def open_writer(settings: Settings) -> Iterator[StoreWriter]:
    if settings.store_writer_url:
        from vigil.store.remote_writer import RemoteStoreWriter

        if not settings.internal_token.get_secret_value():
            raise ImportStopped("VIGIL_STORE_WRITER_URL needs VIGIL_INTERNAL_TOKEN (the store "
                                "owner's; `vigil up` keeps it in VIGIL_DATA_DIR/internal-token)",
                                2)
        click.echo(f"writing through the store owner at {redact_url(settings.store_writer_url)}",
                   err=True)
        remote = RemoteStoreWriter.from_settings(settings)
        try:
            yield remote
        finally:
            remote.close()
        return
    from vigil.store.client import StoreLockedError, open_store
    from vigil.store.migrate import migrate
    from vigil.store.writer import LocalStoreWriter

    try:
        store = open_store(settings)
    except StoreLockedError as exc:
        raise ImportStopped(
            f"{exc}.\nTo import while it runs, write through it: set VIGIL_STORE_WRITER_URL "
            f"to its read API (e.g. {settings.api_url}) and VIGIL_INTERNAL_TOKEN to its token "
            "(`vigil up` keeps it in VIGIL_DATA_DIR/internal-token)", 2) from exc
    try:
        migrate(store, settings.retention_days)
        yield LocalStoreWriter(store)
    finally:
        store.close()


class RejectsFile:
    """The refused lines, one JSON object each: line number, reason, the line's text.
    Created at the first refused line only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: IO[bytes] | None = None

    def add(self, number: int, line: bytes, reason: str) -> None:
        if self._file is None:
            self._file = self.path.open("wb")
        self.count += 1
        text = line.decode(errors="replace").rstrip("\r\n")[:REJECT_TEXT_CHARS]
        self._file.write(orjson.dumps({"line": number, "reason": reason, "text": text}) + b"\n")

    def __enter__(self) -> RejectsFile:
        self.path.unlink(missing_ok=True)  # a rejects file of an earlier run would mislead
        return self

    def __exit__(self, *_: object) -> None:
        if self._file is not None:
            self._file.close()


def summary(r: ImportReport, seconds: float, project: str, rejects: Path) -> str:
    loaded = ", ".join(f"{r.loaded[t]} {t}" for t in ("traces", "feedback", "scores"))
    skipped = ", ".join(f"{r.skipped[t]} {t}" for t in ("traces", "feedback", "scores"))
    lines = [
        f"imported {r.lines} lines into project {project} in {seconds:.1f} s "
        f"({r.lines / max(seconds, 1e-6):,.0f} lines/s)",
        f"loaded: {loaded}",
        f"judged by the built-in evaluators: {r.judged} score rows (counted in the scores "
        "above; the LLM judge does not run in an import)",
        f"skipped as already stored: {skipped}",
        f"rejected: {r.rejected}" + (f" (line numbers and reasons in {rejects})"
                                     if r.rejected else ""),
    ]
    return "\n".join(lines)
