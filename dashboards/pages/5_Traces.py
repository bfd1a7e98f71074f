"""Trace explorer: search and filter calls, page through them, open one trace with its
scores and feedback, and read the whole conversation of its session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clock import stamp
from common import START_HINT, fetch, page, table

api, f = page("Traces")
ss = st.session_state

with st.form("vigil_trace_search"):
    c = st.columns([3, 1, 2, 2, 1])
    q = c[0].text_input("Text in prompt or completion", key="vigil_q")
    status = c[1].selectbox("Status", ["any", "ok", "error"], key="vigil_status")
    session_id = c[2].text_input("Session id", key="vigil_session")
    user_id = c[3].text_input("User id", key="vigil_user")
    min_latency = c[4].number_input("Min latency (ms)", min_value=0, value=0, step=100,
                                    key="vigil_min_latency")
    st.form_submit_button("Search")

search: dict[str, Any] = {"q": q.strip(), "status": None if status == "any" else status,
                          "session_id": session_id.strip(), "user_id": user_id.strip(),
                          "min_latency_ms": min_latency or None}
signature = repr((sorted(f.scope.items()), sorted(search.items())))
if ss.get("vigil_trace_signature") != signature:  # new search: back to the first page
    ss["vigil_trace_signature"], ss["vigil_trace_pages"] = signature, [None]
pages: list[str | None] = ss["vigil_trace_pages"]

result = fetch(api.search_traces, f.scope, limit=50, cursor=pages[-1], **search)
traces = result["traces"]
if not traces:
    if len(pages) == 1:
        st.info(f"No traces match in the {f.describe()}. Loosen the search, widen the time "
                f"range or clear the filters in the sidebar. {START_HINT}")
        st.stop()
    st.info("No more traces.")

nav = st.columns([1, 1, 6])
if nav[0].button("← Newer", disabled=len(pages) == 1, key="vigil_newer"):
    pages.pop()
    st.rerun()
if nav[1].button("Older →", disabled=result["next_cursor"] is None, key="vigil_older"):
    pages.append(result["next_cursor"])
    st.rerun()
nav[2].caption(f"Page {len(pages)} · {len(traces)} calls, newest first · {f.describe()}")

st.dataframe(table(traces, ["start_time", "trace_id", "session_id", "app", "model",
                            "prompt_template_version", "status", "latency_ms",
                            "input_tokens", "output_tokens", "total_cost"], zone=f.zone),
             hide_index=True, width="stretch")
if not traces:
    st.stop()

ids = list(dict.fromkeys(t["trace_id"] for t in traces))
chosen = st.selectbox("Open trace", ids, key="vigil_trace_pick")
detail = fetch(api.trace, chosen)
calls = detail.get("calls") or []


def show_message(message: dict[str, Any]) -> None:
    """One chat message: its role and text, the tool calls it made, the call it answers."""
    role = message.get("role", "")
    answers = f" (result of {message['tool_call_id']})" if message.get("tool_call_id") else ""
    st.markdown(f"**{role}**{answers}")
    if message.get("content"):
        st.code(message["content"], language=None, wrap_lines=True)
    for call in message.get("tool_calls") or []:
        function = call.get("function", {})
        st.code(f"{function.get('name', '')}({function.get('arguments', '')})  "
                f"# tool call {call.get('id', '')}", language=None, wrap_lines=True)


st.subheader(f"Trace {chosen}")
for call in calls:
    latency, cost = float(call.get("latency_ms") or 0), float(call.get("total_cost") or 0)
    head = f"{call.get('model')} · {call.get('status')} · {latency:,.0f} ms · ${cost:.5f}"
    with st.expander(head, expanded=len(calls) == 1):
        for message in call.get("messages") or []:  # the prompt, then the answer
            show_message(message)
        if call.get("error_message"):
            st.markdown("**Error**")
            st.code(call["error_message"], language=None, wrap_lines=True)
        if call.get("tool_definitions"):
            st.markdown(f"**Tools offered ({len(call['tool_definitions'])})**")
            st.json(call["tool_definitions"], expanded=False)
for name, empty in (("scores", "Not judged: the judge scores a sample of traces."),
                    ("feedback", "No user feedback on this trace."),
                    ("spans", "No OpenTelemetry spans for this trace.")):
    rows = detail.get(name) or []
    st.markdown(f"**{name.capitalize()} ({len(rows)})**")
    if rows:
        st.dataframe(table(rows, zone=f.zone), hide_index=True, width="stretch")
    else:
        st.caption(empty)

session = next((c.get("session_id") for c in calls if c.get("session_id")), "")
if session:
    st.subheader(f"Session {session}")
    convo = fetch(api.session, session)
    scored = {s["trace_id"]: s for s in convo.get("scores", [])}
    for call in convo.get("calls", []):
        with st.chat_message("user"):
            st.write(call.get("prompt") or "")
        with st.chat_message("assistant"):
            asked = [str(c.get("name", "")) for c in call.get("completion_tool_calls") or []
                     if isinstance(c, dict)]
            st.write(call.get("completion") or (f"(calls {', '.join(asked)})" if asked else "")
                     or f"(error) {call.get('error_message', '')}")
            s = scored.get(call["trace_id"])
            st.caption(f"{stamp(call['start_time'], f.zone)} · {call.get('model')}"
                       + (f" · {s['evaluator']} {s['score']}" if s else "")
                       + (" · this trace" if call["trace_id"] == chosen else ""))
    if convo.get("feedback"):
        st.markdown("**Feedback in this session**")
        st.dataframe(table(convo["feedback"], zone=f.zone), hide_index=True, width="stretch")
else:
    st.caption("This trace has no session id, so there is no conversation to show.")
