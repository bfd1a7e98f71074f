"""Streamlit rendering of ``conversation.Turn``s: a chat bubble per turn with its role,
masked PII marked as masked, long texts folded, tool calls and tool results as
collapsible blocks with their arguments; a trace's spans as an indented tree with start
offsets and durations. Call these outside any expander (Streamlit does not nest them)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conversation import MASK_TOKENS, SpanRow, ToolCall, Turn

AVATARS = {"system": ":material/settings:", "tool": ":material/build:"}
_MASK = re.compile("|".join(re.escape(t) for t in MASK_TOKENS))


def as_markdown(text: str) -> str:
    """The text for st.markdown: masked PII as a badge, dollar signs not read as math."""
    text = text.replace("$", "\\$")
    return _MASK.sub(lambda m: f":orange-badge[masked {MASK_TOKENS[m[0]]}]", text)


def _pretty(arguments: str) -> tuple[str, str | None]:
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False), "json"
    except ValueError:
        return arguments, None


def _tool_call(call: ToolCall) -> None:
    title = f"Tool call: {call.name or '(unnamed)'}" + (f" · {call.id}" if call.id else "")
    with st.expander(title, icon=":material/function:"):
        text, language = _pretty(call.arguments)
        st.code(text or "(no arguments)", language=language, wrap_lines=True)


def show_turn(turn: Turn, caption: str = "") -> None:
    """One turn as a chat bubble."""
    with st.chat_message(turn.role, avatar=AVATARS.get(turn.role)):
        label = turn.role + (f" · {turn.name}" if turn.name else "")
        if turn.tool_call_id:
            label += f" · result of {turn.tool_call_id}"
        st.caption(label)
        if turn.role == "tool":
            with st.expander(f"Tool result ({len(turn.text):,} characters)",
                             icon=":material/output:"):
                text, language = _pretty(turn.text)
                st.code(text, language=language, wrap_lines=True)
        elif turn.error:
            st.error(turn.text or "(the call failed)")
        elif turn.folded:
            st.markdown(as_markdown(turn.preview))
            with st.expander(f"Show all {len(turn.text):,} characters"):
                st.markdown(as_markdown(turn.text))
        elif turn.text:
            st.markdown(as_markdown(turn.text))
        elif not turn.tool_calls:
            st.caption("(empty)")
        for call in turn.tool_calls:
            _tool_call(call)
        if turn.masked:
            kinds = ", ".join(sorted(set(turn.masked)))
            st.caption(f":material/visibility_off: {len(turn.masked)} value(s) masked by "
                       f"Vigil ({kinds}): the original never reached the store")
        if caption:
            st.caption(caption)


def show_chat(turns: Sequence[Turn], caption: Callable[[Turn], str] | None = None) -> None:
    for turn in turns:
        show_turn(turn, caption(turn) if caption else "")


def span_table(rows: Sequence[SpanRow]) -> None:
    """The span tree as a table: names indented by depth, start offset, a duration bar."""
    frame = pd.DataFrame([{
        "span": "\u2003" * r.depth + ("└ " if r.depth else "") + r.name,
        "starts at (ms)": round(r.offset_ms, 1), "duration (ms)": round(r.duration_ms, 1),
        "status": r.status, "span id": r.span_id} for r in rows])
    longest: Any = max((r.offset_ms + r.duration_ms for r in rows), default=1.0) or 1.0
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "duration (ms)": st.column_config.ProgressColumn(
            "duration (ms)", format="%.1f", min_value=0.0, max_value=float(longest))})
