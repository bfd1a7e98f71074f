"""`vigil import`'s pipeline: the stages' own code on each line of a history file, then the
store's one write path (no broker).

Each line is parsed and validated (vigil.launch.import_lines); a trace goes through the
enrich stage (PII masked, tokens, cost, latency) and, in batches, the judge stage (its
sampling and built-in evaluators as configured; the LLM judge is left out); feedback and
imported scores become their rows. Rows are written through a `StoreWriter`, which skips
the ids a table holds already, so importing a file again stores nothing twice. A line that
cannot be imported is handed to `reject` with its number and reason; the others load.
A store that does not take a batch (StoreUnavailable) stops the import: run it again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from vigil.enrich.stage import EnrichConfig, enrich
from vigil.events.validate import Limits
from vigil.events.wire import enriched_record, feedback_from_proto, to_datetime, trace_from_proto
from vigil.judge.model import Judgment
from vigil.judge.stage import JudgeStage, score_row
from vigil.launch.import_lines import ImportedScore, LineRefused, import_limits, parse_line
from vigil.store.tables import FEEDBACK, SCORES, TRACES, Line, TableSpec, feedback_line, table_line
from vigil.store.writer import StoreWriter
from vigil_protos.v1 import events_pb2 as pb

SLICE_KEYS = ("project_id", "start_time", "event_id", "trace_id", "app", "environment",
              "model", "prompt_template_id", "prompt_template_version")
KNOWN_TRACES = 1_000_000  # traces remembered for the score lines that name them

Reject = Callable[[int, bytes, str], None]


@dataclass(slots=True)
class ImportReport:
    lines: int = 0
    rejected: int = 0
    loaded: Counter[str] = field(default_factory=Counter)   # table -> rows written
    skipped: Counter[str] = field(default_factory=Counter)  # table -> rows already stored
    judged: int = 0  # score rows of the built-in evaluators (written or already stored)


@dataclass(slots=True)
class _Pending:
    traces: list[Line] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[Line] = field(default_factory=list)
    scores: list[Line] = field(default_factory=list)  # imported scores


class Importer:
    """Feed it the lines of a file in order, then `finish()`; `report` says what happened."""

    def __init__(self, writer: StoreWriter, project: str, enrich_config: EnrichConfig,
                 judge: JudgeStage, limits: Limits, now: datetime, reject: Reject,
                 batch_rows: int = 10_000) -> None:
        self._writer, self._project, self._enrich = writer, project, enrich_config
        self._judge, self._now, self._reject = judge, now, reject
        self._limits = import_limits(limits, now)
        self._batch_rows = batch_rows
        self._known: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._pending = _Pending()
        self._runner = asyncio.Runner()
        self.report = ImportReport()

    def feed(self, number: int, line: bytes) -> None:
        """One line of the file (blank lines are skipped and not counted)."""
        if not line.strip():
            return
        self.report.lines += 1
        try:
            record = parse_line(line, self._limits, self._now)
            if isinstance(record, pb.TraceEvent):
                self._add_trace(number, record)
            elif isinstance(record, pb.FeedbackEvent):
                fb = feedback_from_proto(record, self._project, to_datetime(record.time))
                self._pending.feedback.append(feedback_line(fb, -1, number))
            else:
                self._pending.scores.append(self._score_line(record))
        except LineRefused as exc:
            self._refuse(number, line, str(exc))
        except Exception as exc:  # a stage failing on one event must not stop the import
            self._refuse(number, line, f"{type(exc).__name__}: {exc}")
        p = self._pending
        if max(len(p.traces), len(p.feedback), len(p.scores)) >= self._batch_rows:
            self.flush()

    def _refuse(self, number: int, line: bytes, reason: str) -> None:
        self.report.rejected += 1
        self._reject(number, line, reason)

    def _add_trace(self, number: int, proto: pb.TraceEvent) -> None:
        event = trace_from_proto(proto, self._project, to_datetime(proto.end_time))
        enriched = enrich(event, self._enrich)
        enriched.raw_partition, enriched.raw_offset = -1, number
        record = enriched_record(enriched)
        # built by the enrich stage's own functions: no need of the sink's check of a payload
        self._pending.traces.append(Line(orjson.dumps(record), record["project_id"],
                                         record["event_id"], record["start_time"]))
        self._pending.records.append(record)
        if record["trace_id"] not in self._known:
            self._known[record["trace_id"]] = {k: record[k] for k in SLICE_KEYS}
            if len(self._known) > KNOWN_TRACES:
                self._known.popitem(last=False)

    def _score_line(self, score: ImportedScore) -> Line:
        trace = self._known.get(score.trace_id)
        if trace is None:
            raise LineRefused(f"score: trace {score.trace_id!r} is not among the traces "
                              "earlier in this file (a score line must follow its trace)")
        if score.event_id:
            trace = {**trace, "event_id": score.event_id}
        judgment = Judgment(evaluator=score.name, version=score.version, score=score.value,
                            label=score.label, rationale=score.rationale)
        judged_at = (score.time or datetime.fromisoformat(trace["start_time"])).isoformat()
        row = score_row(trace, judgment, "imported", judged_at)
        return table_line(SCORES, orjson.dumps(row), row)

    def flush(self) -> None:
        """Judge and write what is pending: traces, then their scores, then feedback."""
        p, self._pending = self._pending, _Pending()
        judged = self._runner.run(self._judge.judge_records(p.records)) if p.records else []
        self._judge.flush_counts()  # sampling counts are not stored by an import
        judged_lines = [Line(orjson.dumps(r), r["project_id"], r["score_id"],
                             r["trace_start_time"]) for r in judged]
        self.report.judged += len(judged_lines)
        self._write(TRACES, p.traces)
        self._write(SCORES, judged_lines + p.scores)
        self._write(FEEDBACK, p.feedback)

    def _write(self, spec: TableSpec, lines: list[Line]) -> None:
        if not lines:
            return
        token = "import:" + hashlib.blake2b(b"\n".join(x.line for x in lines),
                                            digest_size=16).hexdigest()
        result = self._writer.write(spec, lines, token)
        self.report.loaded[spec.name] += result.written
        self.report.skipped[spec.name] += result.skipped

    def finish(self) -> ImportReport:
        self.flush()
        self._runner.close()
        return self.report
