"""Drift of one slice (pure given its samples): the current window against the trailing
reference, on input features (tokens, length, words of the prompt) and output features
(tokens, length, latency, cost, finish reason, status). A drifted input feature is an
`input_drift` observation, an output one `output_drift`."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import datetime
from typing import Any

from vigil.analyze.alerting import Observation
from vigil.analyze.detect.drift import DriftReport, drift_report
from vigil.analyze.model import SliceKey

INPUT = {"input_tokens": "numeric", "prompt_chars": "numeric", "prompt_text": "text"}
OUTPUT = {"output_tokens": "numeric", "completion_chars": "numeric", "latency_ms": "numeric",
          "total_cost": "numeric", "finish_reason": "categorical", "status": "categorical"}
HTML_PART = 500_000  # base64 characters per part: each part fits a Kafka record


def columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {f: [r[f] for r in rows] for f in (*INPUT, *OUTPUT)}


def check_drift(key: SliceKey, reference: list[dict[str, Any]], current: list[dict[str, Any]],
                min_samples: int) -> tuple[DriftReport, list[Observation]]:
    report = drift_report(columns(reference), columns(current),
                          {**INPUT, **OUTPUT}, min_samples=min_samples)  # type: ignore[arg-type]
    observations = []
    where = "/".join(p for p in (key.app, key.model) if p)
    for signal, features in (("input_drift", INPUT), ("output_drift", OUTPUT)):
        drifted = [f for f in report.drifted_features if f in features]
        if drifted:
            title = f"{'Inputs' if signal == 'input_drift' else 'Outputs'} of {where} drifted: " \
                    + ", ".join(drifted)
            observations.append(Observation(
                signal, key, "warning", title,  # type: ignore[arg-type]
                f"{title} (current window vs its reference; Benjamini-Hochberg "
                f"adjusted, {len(reference)} vs {len(current)} traces).",
                float(len(drifted)), 0.0, 1.0))
    return report, observations


def report_rows(key: SliceKey, report: DriftReport, windows: tuple[datetime, ...],
                evidently: tuple[str, dict[str, Any]] | None, now: datetime
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The drift_reports row, and the evidently HTML (gzip, base64) in parts."""
    report_id = str(uuid.uuid4())
    packed = base64.b64encode(gzip.compress(evidently[0].encode())).decode() \
        if evidently is not None else ""
    parts = [{"project_id": key.project_id, "run_at": now.isoformat(),
              "part_id": f"{report_id}:{i}", "report_id": report_id, "part": i,
              "data": packed[at:at + HTML_PART]}
             for i, at in enumerate(range(0, len(packed), HTML_PART))]
    ref_start, ref_end, cur_start, cur_end = windows
    row = {
        "project_id": key.project_id, "run_at": now.isoformat(), "report_id": report_id,
        "app": key.app, "model": key.model, "reference_start": ref_start.isoformat(),
        "reference_end": ref_end.isoformat(), "current_start": cur_start.isoformat(),
        "current_end": cur_end.isoformat(), "drifted_features": report.drifted_features,
        "report": json.dumps(report.to_json()),
        "evidently_json": json.dumps(evidently[1], default=str)[:500_000] if evidently else "",
        "html_parts": len(parts),
    }
    return row, parts
