"""Trace explorer: search and filter calls, page through them, open one trace as a chat
(roles, tool calls, masked PII) with its spans as a tree, scores and feedback, and read
the whole conversation of its session in order."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chat import show_chat, span_table
from clock import stamp
from common import START_HINT, fetch, page, table
from conversation import Turn, call_turns, session_turns, span_rows

DEMO_JUDGE = "vigil-demo-judge"

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


st.subheader(f"Trace {chosen}")
st.code(chosen, language=None)  # a copy button for the id
for call in calls:
    latency, cost = float(call.get("latency_ms") or 0), float(call.get("total_cost") or 0)
    with st.container(border=True):
        st.markdown(f"**{call.get('app')} · {call.get('model')}** · {call.get('status')} · "
                    f"{latency:,.0f} ms · \\${cost:.5f} · {stamp(call['start_time'], f.zone)}"
                    + (f" · prompt {call['prompt_template_id']} "
                       f"{call.get('prompt_template_version', '')}"
                       if call.get("prompt_template_id") else ""))
        show_chat(call_turns(call))
        if call.get("tool_definitions"):
            with st.expander(f"Tools offered ({len(call['tool_definitions'])})"):
                st.json(call["tool_definitions"], expanded=False)

spans = span_rows(detail.get("spans") or [])
st.markdown(f"**Spans ({len(spans)})**")
if spans:
    span_table(spans)
else:
    st.caption("No OpenTelemetry spans for this trace.")
for name, empty in (("scores", "Not judged: the judge scores a sample of traces."),
                    ("feedback", "No user feedback on this trace.")):
    rows = detail.get(name) or []
    st.markdown(f"**{name.capitalize()} ({len(rows)})**")
    if rows:
        st.dataframe(table(rows, zone=f.zone), hide_index=True, width="stretch")
    else:
        st.caption(empty)
if any(str(r.get("judge_model", "")).startswith(DEMO_JUDGE) for r in detail.get("scores") or []):
    st.caption(f"Scores by `{DEMO_JUDGE}` come from the demo's stand-in judge: a heuristic, "
               "not an LLM.")

session = next((c.get("session_id") for c in calls if c.get("session_id")), "")
if session:
    st.subheader(f"Session {session}")
    st.code(session, language=None)
    convo = fetch(api.session, session)
    scored: dict[str, list[str]] = {}
    for s in convo.get("scores", []):
        if s.get("score") is not None:
            scored.setdefault(s["trace_id"], []).append(f"{s['evaluator']} {s['score']:.2f}")

    def about(turn: Turn) -> str:
        meta = turn.meta
        if not meta.get("trace_id"):
            return ""
        parts = [stamp(meta["start_time"], f.zone), str(meta.get("model")),
                 f"trace {meta['trace_id']}", *scored.get(str(meta["trace_id"]), [])]
        if meta["trace_id"] == chosen:
            parts.append("**this trace**")
        return " · ".join(parts)

    show_chat(session_turns(convo.get("calls", [])), about)
    if convo.get("feedback"):
        st.markdown("**Feedback in this session**")
        st.dataframe(table(convo["feedback"], zone=f.zone), hide_index=True, width="stretch")
else:
    st.caption("This trace has no session id, so there is no conversation to show.")
