"""The chat view rendered by Streamlit itself (AppTest, no API): a bubble per turn with its
role, tool calls and results as collapsible blocks with their arguments, masked PII
marked, long texts folded, spans as a table."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

DASHBOARDS = str(Path(__file__).resolve().parents[3] / "dashboards")


def _agent_chat(dashboards: str) -> None:
    import sys

    sys.path.insert(0, dashboards)
    from chat import show_chat, span_table
    from conversation import span_rows, turns

    show_chat(turns([
        {"role": "system", "content": "You are a weather bot."},
        {"role": "user", "content": "Weather in Paris? Mail it to [EMAIL]."},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'},
    ], "It is 21 °C in Paris. " * 80))
    span_table(span_rows([
        {"span_id": "a", "name": "invoke_agent", "duration_ms": 100,
         "start_time": "2026-12-03T18:00:00"},
        {"span_id": "b", "parent_span_id": "a", "name": "execute_tool get_weather",
         "duration_ms": 20, "start_time": "2026-12-03T18:00:00.010"}]))


def test_the_chat_view_renders_roles_tools_masks_and_folds() -> None:
    at = AppTest.from_function(_agent_chat, args=(DASHBOARDS,), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert [m.name for m in at.chat_message] == ["system", "user", "assistant", "tool",
                                                 "assistant"]
    labels = [e.label for e in at.expander]
    assert "Tool call: get_weather · call_1" in labels
    assert any(label.startswith("Tool result") for label in labels)
    assert any(label.startswith("Show all") for label in labels)  # the long answer folds
    codes = [c.value for c in at.code]
    assert '{\n  "city": "Paris"\n}' in codes  # the arguments, pretty-printed
    assert '{\n  "temp_c": 21\n}' in codes
    markdown = "\n".join(m.value for m in at.markdown)
    assert ":orange-badge[masked email]" in markdown and "[EMAIL]" not in markdown
    assert any("masked by Vigil (email)" in c.value for c in at.caption)
    spans = at.dataframe[0].value
    assert list(spans["duration (ms)"]) == [100.0, 20.0]
    assert spans["span"].iloc[1].endswith("└ execute_tool get_weather")
