"""Retraining tickets (pure): lifecycle, table rows and issue payloads.

One open ticket per (project, signal, slice): a problem that persists for
`persist_windows` analysis windows opens one; while it is open or acknowledged
further windows only update it; once resolved, a recurrence reopens it (same
ticket id, `reopened` counted) rather than opening a duplicate.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from vigil.core.tickets import Ticket, TicketStatus

_TRANSITIONS: dict[TicketStatus, set[TicketStatus]] = {
    "open": {"acknowledged", "resolved"},
    "acknowledged": {"resolved"},
    "resolved": {"open"},
}


class TicketTransitionError(ValueError):
    pass


def transition(ticket: Ticket, to: TicketStatus, now: datetime) -> Ticket:
    """Move a ticket along open -> acknowledged -> resolved (-> open on recurrence)."""
    if to not in _TRANSITIONS[ticket.status]:
        raise TicketTransitionError(f"a {ticket.status} ticket cannot become {to}")
    return replace(ticket, status=to, updated_at=now.isoformat(),
                   reopened=ticket.reopened + (to == "open"))


@dataclass(slots=True)
class TicketBook:
    persist_windows: int = 3
    tickets: dict[str, Ticket] = field(default_factory=dict)  # by dedupe key
    streak: dict[str, int] = field(default_factory=dict)
    stored: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (id, status)

    def observe(self, candidates: Iterable[Ticket], now: datetime) -> list[Ticket]:
        """Feed this window's problems (as would-be tickets); return tickets opened,
        reopened or updated."""
        changed = []
        present = set()
        for candidate in candidates:
            key = candidate.dedupe_key
            present.add(key)
            self.streak[key] = self.streak.get(key, 0) + 1
            if self.streak[key] < self.persist_windows:
                continue
            current = self.tickets.get(key)
            if current is None and key in self.stored:  # known to the store, not to us
                stored_id, stored_status = self.stored[key]
                current = replace(candidate, ticket_id=stored_id, status=stored_status,
                                  opened_at=now.isoformat())
            if current is None:
                ticket = replace(candidate, ticket_id=str(uuid.uuid4()), status="open",
                                 opened_at=now.isoformat(), updated_at=now.isoformat())
            elif current.status == "resolved":
                ticket = transition(replace(candidate, ticket_id=current.ticket_id,
                                            status="resolved", reopened=current.reopened,
                                            opened_at=current.opened_at), "open", now)
            else:
                ticket = replace(candidate, ticket_id=current.ticket_id, status=current.status,
                                 reopened=current.reopened, opened_at=current.opened_at,
                                 updated_at=now.isoformat())
            self.tickets[key] = ticket
            changed.append(ticket)
        for key in list(self.streak):
            if key not in present:
                del self.streak[key]
        return changed


def ticket_row(ticket: Ticket, version_id: str) -> dict[str, object]:
    """One `tickets` row: a version of the ticket (the latest row is its state)."""
    doc = ticket.to_json()
    return {
        "project_id": ticket.project_id, "updated_at": ticket.updated_at,
        "version_id": version_id, "ticket_id": ticket.ticket_id,
        "dedupe_key": ticket.dedupe_key, "status": ticket.status, "signal": ticket.signal,
        "title": ticket.title, "description": ticket.description, "slice": ticket.slice,
        "window_start": ticket.window_start, "window_end": ticket.window_end,
        "before": ticket.before, "after": ticket.after,
        "drift_report": json.dumps(ticket.drift_report),
        "examples": json.dumps(doc["examples"], ensure_ascii=False),
        "dataset_size": ticket.dataset_size, "opened_at": ticket.opened_at,
        "reopened": ticket.reopened,
    }


def issue_payload(ticket: Ticket, dashboard_url: str = "") -> dict[str, object]:
    """A ticket as one JSON body that a GitHub "create an issue" call (title, body,
    labels) and a Jira "create issue" call (fields.summary, .description, .labels,
    .issuetype) can both take."""
    where = ", ".join(f"{k}={v}" for k, v in ticket.slice.items() if v) or "all traffic"
    labels = ["vigil", "retraining", ticket.signal.replace("_", "-"), ticket.project_id]
    body = (f"{ticket.description}\n\n**Slice:** {where}  \n"
            f"**Window:** {ticket.window_start} to {ticket.window_end}  \n"
            f"**Before:** {ticket.before}  \n**After:** {ticket.after}  \n"
            f"**Candidate dataset:** {ticket.dataset_size} traces "
            f"(`vigil tickets export {ticket.ticket_id}`)"
            + (f"  \n**Dashboard:** {dashboard_url}" if dashboard_url else ""))
    return {
        "title": f"[Vigil] {ticket.title}", "body": body, "labels": labels,
        "fields": {"summary": f"[Vigil] {ticket.title}", "description": body,
                   "labels": labels, "issuetype": {"name": "Task"}},
        "vigil": {"ticket_id": ticket.ticket_id, "status": ticket.status,
                  "dedupe_key": ticket.dedupe_key, "reopened": ticket.reopened},
    }
