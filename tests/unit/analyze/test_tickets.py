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


TOOL_EXAMPLE = TicketExample(
    "t3", "e3",
    [{"role": "system", "content": "You are a weather bot."},
     {"role": "user", "content": "Weather in Paris?"},
     {"role": "assistant", "content": "",
      "tool_calls": [{"id": "call_w1", "name": "get_weather", "arguments": '{"city": "Paris"}'}]},
     {"role": "tool", "content": '{"temp_c": 21}', "tool_call_id": "call_w1"}],
    "It is 21 C.", 0.1, "", "2026-11-21T11:02:00+00:00",
    tool_definitions='[{"type": "function", "name": "get_weather", "description": "Weather",'
                     ' "parameters": {"type": "object"}}]')


def test_finetune_jsonl_writes_tool_calls_in_the_openai_format() -> None:
    [line] = finetune_jsonl([TOOL_EXAMPLE]).splitlines()
    doc = json.loads(line)
    assert doc["messages"][2] == {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_w1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert doc["messages"][3] == {"role": "tool", "content": '{"temp_c": 21}',
                                  "tool_call_id": "call_w1"}
    assert doc["messages"][4] == {"role": "assistant", "content": "It is 21 C."}
    assert doc["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}}]


def test_an_answer_that_is_only_a_tool_call_is_an_example() -> None:
    asked = TicketExample("t4", "e4", [{"role": "user", "content": "Weather?"}], "", None, "",
                          "2026-11-21T11:03:00+00:00",
                          completion_tool_calls=[{"id": "c", "name": "wx", "arguments": "{}"}])
    [line] = finetune_jsonl([asked]).splitlines()
    assert json.loads(line)["messages"][-1]["tool_calls"][0]["function"]["name"] == "wx"
    assert "tools" not in json.loads(line)


def test_a_ticket_example_stored_before_tool_calls_still_reads() -> None:
    stored = {"trace_id": "t", "event_id": "e", "prompt": [{"role": "user", "content": "q"}],
              "completion": "a", "score": None, "feedback": "", "start_time": "x"}
    example = TicketExample(**stored)  # type: ignore[arg-type]
    assert (example.completion_tool_calls, example.tool_definitions) == ([], "")
