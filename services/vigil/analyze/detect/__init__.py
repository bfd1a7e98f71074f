"""Detectors of the analyzer: pure functions over in-memory data, no store, no Kafka.

- `anomaly`: seasonality-aware robust detection on per-minute series of one slice
  (`detect_series`, presets in `SIGNALS`) and user-defined threshold rules
  (`load_threshold_rules`, `check_rules`); both return `Finding`s.
- `drift`: reference vs current samples per feature (numeric, categorical, text),
  Benjamini-Hochberg over the features of one report -> `DriftReport`; and
  `evidently_report` for a human-readable HTML report.

The analyzer fetches the series and samples of a slice, calls these and turns
findings and drift reports into alerts and tickets (`vigil.analyze.model`).
"""
