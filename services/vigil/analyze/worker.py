"""The analyzer process: every interval, the one elected instance fetches the new
per-minute series through the read API, runs one cycle, and publishes alert events
and ticket versions (JSON lines) for the notifier and the sink.

Election: the instances share a consumer group on a one-partition lease topic;
the instance that owns partition 0 acts, the others wait (a rebalance moves the
lease when the leader dies).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from vigil.analyze.alert_log import read_alert_log
from vigil.analyze.alerting import AlertBook, Observation
from vigil.analyze.budgets import check_budget
from vigil.analyze.detect.drift import evidently_report
from vigil.analyze.detect.rules import load_threshold_rules
from vigil.analyze.drift_check import check_drift, columns, report_rows
from vigil.analyze.history import SeriesHistory
from vigil.analyze.model import SliceKey
from vigil.analyze.stage import observe
from vigil.analyze.tickets import TicketBook, issue_payload, ticket_row
from vigil.core.alerts import AlertEvent
from vigil.core.budgets import Budget, load_budgets, period_bounds
from vigil.core.tickets import Ticket, TicketExample
from vigil.kafka.config import consumer_config
from vigil.kafka.producer import json_line_records
from vigil.kafka.signing import internal_secret, sign
from vigil.kafka.topics import Topics
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import ANALYZER_FAILURES
from vigil.settings import Settings

log = get_logger(__name__)
TICKET_SIGNALS = {"quality_drop", "negative_feedback", "input_drift", "output_drift"}


class AnalysisReader(Protocol):
    """What a cycle reads from the store (StoreReader over the read API; a backtest's
    HistoryReader; in-memory readers in tests and benches)."""

    def series(self, since: datetime, until: datetime) -> list[dict[str, Any]]: ...

    def ticket_states(self) -> dict[str, tuple[str, str]]: ...

    def sample(self, key: SliceKey, since: datetime, until: datetime, limit: int
               ) -> list[dict[str, Any]]: ...

    def spend(self, budget: Budget, since: datetime, until: datetime
              ) -> tuple[float, float]: ...

    def examples(self, obs: Observation, since: datetime, until: datetime
                 ) -> list[dict[str, Any]]: ...


class StoreReader:
    """The read API's internal endpoints, as the analyzer's window on the store."""

    def __init__(self, settings: Settings) -> None:
        self._http = httpx.Client(base_url=settings.api_url, timeout=60,
                                  verify=settings.api_verify, headers={
            "authorization": f"Bearer {settings.internal_token.get_secret_value()}"})

    def series(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        r = self._http.get("/internal/analysis/series",
                           params={"since": since.isoformat(), "until": until.isoformat()})
        r.raise_for_status()
        return list(r.json()["points"])

    def ticket_states(self) -> dict[str, tuple[str, str]]:
        """dedupe key -> (ticket id, status) as the store has them (acks and resolves
        made through the API)."""
        r = self._http.get("/internal/tickets/states")
        r.raise_for_status()
        return {t["dedupe_key"]: (t["ticket_id"], t["status"]) for t in r.json()["tickets"]}

    def sample(self, key: SliceKey, since: datetime, until: datetime, limit: int
               ) -> list[dict[str, Any]]:
        r = self._http.get("/internal/analysis/sample", params={
            "project_id": key.project_id, "app": key.app, "model": key.model,
            "since": since.isoformat(), "until": until.isoformat(), "limit": limit})
        r.raise_for_status()
        return list(r.json()["rows"])

    def spend(self, budget: Budget, since: datetime, until: datetime) -> tuple[float, float]:
        r = self._http.get("/internal/analysis/spend", params={
            "project_id": budget.project, "app": budget.app, "user_id": budget.user,
            "since": since.isoformat(), "until": until.isoformat()})
        r.raise_for_status()
        doc = r.json()
        return float(doc["cost_usd"] or 0.0), float(doc["last_hour_cost_usd"] or 0.0)

    def examples(self, obs: Observation, since: datetime, until: datetime
                 ) -> list[dict[str, Any]]:
        r = self._http.get("/internal/analysis/examples", params={
            "project_id": obs.slice.project_id, "app": obs.slice.app, "model": obs.slice.model,
            "since": since.isoformat(), "until": until.isoformat(), "limit": 500})
        r.raise_for_status()
        return list(r.json()["examples"])


class Analyzer:
    def __init__(self, settings: Settings, reader: AnalysisReader,
                 evidently_reports: bool = True) -> None:
        """`evidently_reports=False` (backtests) skips the HTML reports of drift
        findings: they are published for people and change no alert."""
        self.settings = settings
        self._evidently_reports = evidently_reports
        self.reader = reader
        self.history = SeriesHistory()
        self.alerts = AlertBook(cooldown=timedelta(minutes=settings.analyzer_cooldown_minutes))
        self.tickets = TicketBook(persist_windows=settings.ticket_persist_windows)
        self._fetched_until: datetime | None = None
        self.rules = (load_threshold_rules(settings.analyzer_rules_file)
                      if settings.analyzer_rules_file else [])
        self.budgets = load_budgets(settings.budgets_file) if settings.budgets_file else []
        self.drift_rows: list[dict[str, Any]] = []  # reports of the last cycle, to publish
        self.drift_html: list[dict[str, Any]] = []
        self._drift_reports: dict[str, dict[str, Any]] = {}
        self._drift_verdicts: list[Observation] = []  # the last drift check's findings
        self._cycles = 0

    def cycle(self, now: datetime) -> tuple[list[AlertEvent], list[Ticket]]:
        until = now.replace(second=0, microsecond=0)
        since = (until - timedelta(days=self.settings.analyzer_history_days)
                 if self._fetched_until is None else self._fetched_until - timedelta(minutes=10))
        self.history.merge(self.reader.series(since, until))
        self.history.trim(until)
        self._fetched_until = until
        observations = observe(self.history, until, self.settings.analyzer_window_minutes,
                               self.rules)
        observations.extend(self._budget_observations(until))
        self._cycles += 1
        self.drift_rows, self.drift_html = [], []
        fresh = list(observations)
        if self._cycles % self.settings.analyzer_drift_every_cycles == 1 or \
                self.settings.analyzer_drift_every_cycles == 1:
            self._drift_verdicts = self._drift_observations(until)
            fresh.extend(self._drift_verdicts)
        # a drift verdict holds until the next check: the alert stays firing between
        # checks instead of resolving and firing again at every check
        events = self.alerts.update([*observations, *self._drift_verdicts], until)
        window_start = until - timedelta(minutes=self.settings.analyzer_window_minutes)
        candidates = [self._ticket(o, window_start, until) for o in fresh
                      if o.signal in TICKET_SIGNALS]
        if candidates:
            self._sync_ticket_states()
        return events, self.tickets.observe(candidates, until)

    def _drift_observations(self, now: datetime) -> list[Observation]:
        s = self.settings
        cur = (now - timedelta(minutes=s.drift_window_minutes), now)
        found = []
        for key in self.history.slices():
            current = self.reader.sample(key, *cur, limit=2000)
            if len(current) < s.drift_min_samples:
                continue
            ref, reference = self._reference(key, cur)
            if len(reference) < s.drift_min_samples:
                continue
            report, observations = check_drift(key, reference, current, s.drift_min_samples)
            evidently = None
            if observations and self._evidently_reports:
                evidently = _evidently_or_none(key, reference, current)
                for obs in observations:
                    self._drift_reports[obs.dedupe_key] = report.to_json()
            row, html = report_rows(key, report, (*ref, *cur), evidently, now)
            self.drift_rows.append(row)
            self.drift_html.extend(html)
            found.extend(observations)
        return found

    def _reference(self, key: SliceKey, cur: tuple[datetime, datetime]
                   ) -> tuple[tuple[datetime, datetime], list[dict[str, Any]]]:
        """The reference window and its traces: the pinned period; else the current
        window's hours on each of the previous days (seasonal); else, while those have
        too few traces (a new install), the trailing hours before the window."""
        s = self.settings
        if s.drift_reference_period:
            start, _, end = s.drift_reference_period.partition("/")
            pinned = (datetime.fromisoformat(start), datetime.fromisoformat(end))
            return pinned, self.reader.sample(key, *pinned, limit=2000)
        days = [(cur[0] - timedelta(days=d), cur[1] - timedelta(days=d))
                for d in range(1, s.drift_reference_days + 1)]
        seasonal: list[dict[str, Any]] = []
        for window in days:
            seasonal.extend(self.reader.sample(key, *window, limit=2000 // len(days)))
        if days and len(seasonal) >= s.drift_min_samples:
            return (days[-1][0], days[0][1]), seasonal
        trailing = (cur[0] - timedelta(hours=s.drift_reference_hours), cur[0])
        return trailing, self.reader.sample(key, *trailing, limit=2000)

    def _budget_observations(self, now: datetime) -> list[Observation]:
        found = []
        for budget in self.budgets:
            start, _ = period_bounds(budget.period, now)
            spent, last_hour = self.reader.spend(budget, start, now)
            if (obs := check_budget(budget, spent, last_hour, now)) is not None:
                found.append(obs)
        return found

    def _sync_ticket_states(self) -> None:
        """Take in acks and resolves made through the API, and, after a restart, the
        tickets opened before it (so a problem never gets a second open ticket)."""
        self.tickets.stored = self.reader.ticket_states()
        for key, (ticket_id, status) in self.tickets.stored.items():
            known = self.tickets.tickets.get(key)
            if known is not None and known.ticket_id == ticket_id and known.status != status:
                self.tickets.tickets[key] = replace(known, status=status)  # type: ignore[arg-type]

    def _ticket(self, obs: Observation, start: datetime, end: datetime) -> Ticket:
        since = end - timedelta(minutes=self.settings.analyzer_window_minutes
                                * self.settings.ticket_persist_windows)
        rows = self.reader.examples(obs, since, end)
        examples = [TicketExample(
            trace_id=r["trace_id"], event_id=r["event_id"],
            prompt=[_example_message(m) for m in orjson.loads(r["prompt"] or "[]")],
            completion=r["completion"], score=r["score"], feedback=r["feedback"] or "",
            start_time=r["start_time"],
            completion_tool_calls=orjson.loads(r.get("completion_tool_calls") or "[]"),
            tool_definitions=r.get("tool_definitions") or "") for r in rows]
        metric = {"quality_drop": "judge_score_mean", "negative_feedback": "negative_feedback_rate"
                  }.get(obs.signal, "drifted_features")
        return Ticket(
            ticket_id="", dedupe_key=obs.dedupe_key, status="open",
            project_id=obs.slice.project_id, signal=obs.signal, title=obs.title,
            description=_description(obs, since, end, len(examples)),
            slice={"app": obs.slice.app, "model": obs.slice.model,
                   "prompt_version": obs.slice.prompt_version,
                   "environment": obs.slice.environment},
            window_start=since.isoformat(), window_end=end.isoformat(),
            before={metric: obs.baseline}, after={metric: obs.value},
            drift_report=self._drift_reports.get(obs.dedupe_key, {}),
            examples=examples[:10], dataset_size=len(examples), opened_at="", updated_at="")


def _evidently_or_none(key: SliceKey, reference: list[dict[str, Any]],
                       current: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """The evidently report of a drift finding; None (logged, counted) when evidently
    cannot build one: the finding itself stands on our own statistics."""
    import pandas as pd

    try:
        return evidently_report(pd.DataFrame(columns(reference)), pd.DataFrame(columns(current)))
    except Exception as exc:
        ANALYZER_FAILURES.labels("drift_report").inc()
        log.warning("evidently report failed; the drift finding is kept without it",
                    slice=key.label(), error=f"{type(exc).__name__}: {exc}"[:500])
        return None


def _example_message(m: dict[str, Any]) -> dict[str, Any]:
    """A stored prompt message as a ticket example keeps it: role and content, and its
    tool calls or tool-result call id when it has them."""
    out = {"role": m.get("role", ""), "content": m.get("content", "")}
    return {**out, **{k: m[k] for k in ("tool_calls", "tool_call_id") if m.get(k)}}


def _description(obs: Observation, since: datetime, end: datetime, n: int) -> str:
    return (f"## {obs.title}\n\n{obs.summary}\n\n"
            f"- slice: {obs.slice.label()} (project {obs.slice.project_id})\n"
            f"- window: {since:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC\n"
            f"- before: {obs.baseline:.4g}, after: {obs.value:.4g}\n"
            f"- candidate dataset: {n} traces with low judge scores or negative feedback "
            "(export with `vigil tickets export <id>`)\n")


def safe_cycle(analyzer: Analyzer, now: datetime
               ) -> tuple[list[AlertEvent], list[Ticket]] | None:
    """One cycle, or None when it failed: the failure is logged and counted, never fatal,
    and the next cycle runs as planned."""
    try:
        return analyzer.cycle(now)
    except httpx.HTTPError as exc:
        ANALYZER_FAILURES.labels("read_api").inc()
        log.warning("analysis cycle skipped: the read API did not answer", error=str(exc))
    except Exception as exc:  # one failed cycle must never stop the analyzer
        ANALYZER_FAILURES.labels("cycle").inc()
        log.exception("analysis cycle failed; the next one runs as planned",
                      error=f"{type(exc).__name__}: {exc}"[:500])
    return None


def run(settings: Settings, stop: threading.Event) -> None:
    topics = Topics.from_settings(settings)
    servers = settings.kafka_bootstrap_servers.split(",")
    # the lease is group membership only (no record is ever read or committed), so it has
    # no use for the runner's batches and commits: it shares the runner's consumer settings
    lease = KafkaConsumer(**consumer_config(settings, "analyze", client_id="vigil-analyzer"))
    lease.subscribe([topics.analyzer_lease])
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", client_id="vigil-analyzer")
    secret = internal_secret(settings)
    analyzer = Analyzer(settings, StoreReader(settings))
    next_run = time.monotonic()
    sent_tickets: set[tuple[str, int]] = set()
    restored = False  # the alert state taken back from the alert log since the lease came
    try:
        while not stop.is_set():
            lease.poll(timeout_ms=500)
            leader = TopicPartition(topics.analyzer_lease, 0) in lease.assignment()
            if not leader:
                restored = False
                continue
            if not restored:
                restored = restore_alerts(analyzer, servers, topics.alerts, secret)
            if not restored or time.monotonic() < next_run:
                continue
            next_run = time.monotonic() + settings.analyzer_interval_s
            started = time.perf_counter()
            if (outcome := safe_cycle(analyzer, datetime.now(UTC))) is None:
                continue
            events, tickets = outcome
            _publish(producer, secret, topics.alerts, [e.to_json() for e in events])
            _publish(producer, secret, topics.tickets,
                     [ticket_row(t, str(uuid.uuid4())) for t in tickets])
            _post_tickets(settings, tickets, sent_tickets)
            _publish(producer, secret, topics.drift_report_html, analyzer.drift_html)
            _publish(producer, secret, topics.drift_reports, analyzer.drift_rows)
            log.info("analysis cycle", seconds=round(time.perf_counter() - started, 3),
                     slices=len(analyzer.history.slices()), alert_events=len(events),
                     tickets=len(tickets))
    finally:
        lease.close()
        producer.close(timeout=5)


def restore_alerts(analyzer: Analyzer, servers: list[str], topic: str, secret: bytes
                   ) -> bool:
    """Take the alert state back from the alert log before acting as leader (after a
    crash, or when the lease moves here): firing alerts stay firing, nothing pages
    twice, every resolve still comes. False (logged, counted) when the log could not
    be read: no cycle runs on a partial picture."""
    try:
        events = read_alert_log(servers, topic, secret)
    except Exception as exc:  # the broker away: try again at the next turn of the loop
        ANALYZER_FAILURES.labels("alert_log").inc()
        log.warning("alert log not read; no cycle until it is",
                    error=f"{type(exc).__name__}: {exc}"[:500])
        return False
    analyzer.alerts.restore(events)
    log.info("alert state restored", events=len(events),
             firing=sorted(analyzer.alerts.active), cooling=len(analyzer.alerts.resolved_at))
    return True


def _post_tickets(settings: Settings, tickets: list[Ticket], sent: set[tuple[str, int]]
                  ) -> None:
    """Opened and reopened tickets to the ticket webhook (GitHub / Jira shaped), once
    each, with a few retries; a failure is logged, the ticket stays in the store."""
    url = settings.ticket_webhook_url
    if not url:
        return
    for ticket in tickets:
        if ticket.status != "open" or (ticket.ticket_id, ticket.reopened) in sent:
            continue
        sent.add((ticket.ticket_id, ticket.reopened))
        for attempt in range(4):
            try:
                httpx.post(url, json=issue_payload(ticket), timeout=10).raise_for_status()
                break
            except httpx.HTTPError as exc:
                log.warning("ticket webhook failed", attempt=attempt + 1, error=str(exc))
                time.sleep(0.5 * 2 ** attempt)


def _publish(producer: KafkaProducer, secret: bytes, topic: str, rows: list[dict[str, Any]]
             ) -> None:
    """Rows as signed JSON-lines records, each confirmed."""
    for record in json_line_records([orjson.dumps(r) for r in rows]):
        producer.send(topic, record, headers=[sign(secret, record)]).get(timeout=30)
