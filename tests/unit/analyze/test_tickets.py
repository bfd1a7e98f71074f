"""Ticket lifecycle (one per persistent problem) and the dataset export formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from vigil.analyze.tickets import TicketBook, TicketTransitionError, transition
from vigil.core.tickets import Ticket, TicketExample, dataset_csv, finetune_jsonl

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
W = timedelta(minutes=15)
EXAMPLES = [
    TicketExample("t1", "e1", [{"role": "system", "content": "Be brief."},
                               {"role": "user", "content": "Où est ma commande ? [EMAIL]"}],
                  "Elle arrive demain.", 0.2, "thumbs down", "2026-11-21T11:00:00+00:00"),
    TicketExample("t2", "e2", [{"role": "user", "content": "hi"}], "", None, "",
                  "2026-11-21T11:01:00+00:00"),
]


def _candidate(signal: str = "quality_drop") -> Ticket:
    return Ticket("", f"p:{signal}:app=bot", "open", "p", signal, "Quality dropped",  # type: ignore[arg-type]
                  "...", {"app": "bot"}, "", "", {"score": 0.85}, {"score": 0.6}, {},
                  EXAMPLES, 2, "", "")


def test_exactly_one_ticket_per_persistent_problem() -> None:
    book = TicketBook(persist_windows=3)
    assert book.observe([_candidate()], T0) == []
    assert book.observe([_candidate()], T0 + W) == []
    [opened] = book.observe([_candidate()], T0 + 2 * W)
    [updated] = book.observe([_candidate()], T0 + 3 * W)
    assert opened.status == "open" and updated.ticket_id == opened.ticket_id
    assert len(book.tickets) == 1


def test_a_blip_shorter_than_the_persistence_opens_nothing() -> None:
    book = TicketBook(persist_windows=3)
    book.observe([_candidate()], T0)
    book.observe([], T0 + W)
    book.observe([_candidate()], T0 + 2 * W)
    assert book.observe([_candidate()], T0 + 3 * W) == [] and book.tickets == {}


def test_lifecycle_and_reopen_on_recurrence() -> None:
    book = TicketBook(persist_windows=1)
    [ticket] = book.observe([_candidate()], T0)
    acked = transition(ticket, "acknowledged", T0 + W)
    resolved = transition(acked, "resolved", T0 + 2 * W)
    with pytest.raises(TicketTransitionError):
        transition(resolved, "acknowledged", T0 + 3 * W)
    book.tickets[ticket.dedupe_key] = resolved
    [reopened] = book.observe([_candidate()], T0 + 4 * W)
    assert (reopened.ticket_id, reopened.status, reopened.reopened) == \
        (ticket.ticket_id, "open", 1)


def test_finetune_jsonl_is_valid_chat_format() -> None:
    lines = finetune_jsonl(EXAMPLES).splitlines()
    assert len(lines) == 1  # the trace without an answer is left out
    doc = json.loads(lines[0])
    assert [m["role"] for m in doc["messages"]] == ["system", "user", "assistant"]
    assert doc["messages"][-1]["content"] == "Elle arrive demain."
    assert all(set(m) == {"role", "content"} for m in doc["messages"])


def test_dataset_csv_round_trips() -> None:
    rows = list(csv.DictReader(io.StringIO(dataset_csv(EXAMPLES))))
    assert [r["trace_id"] for r in rows] == ["t1", "t2"]
    assert json.loads(rows[0]["prompt"])[1]["content"].startswith("Où est")
    assert rows[1]["score"] == ""


def test_after_a_restart_the_stored_ticket_is_updated_not_duplicated() -> None:
    book = TicketBook(persist_windows=1, stored={"p:quality_drop:app=bot": ("t-1", "open")})
    [ticket] = book.observe([_candidate()], T0)
    assert (ticket.ticket_id, ticket.status) == ("t-1", "open")
    book = TicketBook(persist_windows=1,
                      stored={"p:quality_drop:app=bot": ("t-1", "resolved")})
    [reopened] = book.observe([_candidate()], T0)
    assert (reopened.ticket_id, reopened.status, reopened.reopened) == ("t-1", "open", 1)
