"""Tickets: retraining tickets opened by the analyzer; acknowledge, resolve, download."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import ApiError, VigilApi
from common import fetch, page, table

api, f = page("Tickets")


def act(client: VigilApi, ticket_id: str, action: str) -> None:
    """Button callback: acknowledge or resolve, remembering the outcome for the next run."""
    try:
        done = client.ticket_action(ticket_id, action)
        st.session_state["vigil_ticket_flash"] = ("success",
                                                  f"Ticket {ticket_id} is now {done['status']}.")
    except ApiError as exc:
        st.session_state["vigil_ticket_flash"] = ("error", str(exc))


flash = st.session_state.pop("vigil_ticket_flash", None)
if flash:
    (st.success if flash[0] == "success" else st.error)(flash[1])

choice = st.radio("Status", ["all", "open", "acknowledged", "resolved"], horizontal=True)
tickets = fetch(api.tickets, None if choice == "all" else choice)
if not tickets:
    st.info("No tickets yet: the analyzer opens a retraining ticket when a slice's quality "
            "or feedback stays degraded, with the failing examples as a dataset. "
            "Check the Alerts page for what is currently firing.")
    st.stop()

st.dataframe(table(tickets, ["ticket_id", "status", "signal", "title", "dataset_size",
                             "opened_at", "updated_at", "reopened"], zone=f.zone),
             hide_index=True, width="stretch")

labels = {t["ticket_id"]: f"{t['ticket_id']} — {t.get('title', '')} [{t.get('status')}]"
          for t in tickets}
chosen = st.selectbox("Ticket", list(labels), format_func=labels.get)
detail = fetch(api.ticket, chosen)

st.subheader(detail.get("title") or chosen)
st.write(detail.get("description") or "")
c = st.columns(3)
c[0].metric("Status", detail.get("status", "?"))
c[1].metric("Signal", detail.get("signal", "?"))
c[2].metric("Dataset size", detail.get("dataset_size", 0))
status = detail.get("status")
b = st.columns(2)
b[0].button("Acknowledge", disabled=status != "open", on_click=act,
            args=(api, chosen, "acknowledge"), key="vigil_ack")
b[1].button("Resolve", disabled=status == "resolved", on_click=act,
            args=(api, chosen, "resolve"), key="vigil_resolve")

with st.expander("Before / after"):
    st.json({"slice": detail.get("slice"), "window_start": detail.get("window_start"),
             "window_end": detail.get("window_end"), "before": detail.get("before"),
             "after": detail.get("after")})
examples = detail.get("examples") or []
st.markdown(f"**Examples ({len(examples)})**")
if examples:
    st.dataframe(table(examples, zone=f.zone), hide_index=True, width="stretch")
if detail.get("drift_report"):
    with st.expander("Drift report"):
        st.json(detail["drift_report"])

fmt = st.radio("Dataset format", ["jsonl", "csv"], horizontal=True)
data = fetch(api.ticket_dataset, chosen, fmt)
st.download_button(f"Download dataset ({fmt})", data, file_name=f"ticket-{chosen}.{fmt}",
                   mime="application/jsonl" if fmt == "jsonl" else "text/csv")
