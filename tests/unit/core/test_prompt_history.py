"""The registry's rules over a prompt's history: version numbers, identical pushes,
label pointers from the moves, rollback targets, diffs. Plain lists, no store."""

from __future__ import annotations

import pytest

from vigil.core.prompt_history import (
    Conflict,
    NotFound,
    current_labels,
    diff,
    label_history,
    plan_move,
    plan_push,
    render_diff,
    resolve,
    rollback_target,
)
from vigil.core.prompts import LabelMove, PromptContent, PromptVersion, parse_content

AT = "2026-12-03T12:00:00.000+00:00"


def version(n: int, text: str, model: str = "m", **params: object) -> PromptVersion:
    content = parse_content({"messages": [{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": text}],
                             "model": model, "params": params})
    return PromptVersion("p", "greet", n, content, f"v{n}", "ci", AT, content.content_hash())


def move(seq: int, label: str, frm: int, to: int) -> LabelMove:
    return LabelMove("p", "greet", seq, label, frm, to, "ci", AT)


V = [version(1, "Hi {{name}}"), version(2, "Hello {{name}}"), version(3, "Hey {{name}}")]
MOVES = [move(1, "production", 0, 1), move(2, "staging", 0, 2), move(3, "production", 1, 2),
         move(4, "production", 2, 3)]


def test_the_first_push_is_version_1_and_each_new_content_the_next() -> None:
    assert plan_push([], "h").version == 1 and plan_push([], "h").created
    plan = plan_push(V, "new-hash")
    assert (plan.version, plan.created) == (4, True)
    assert plan_push(list(reversed(V)), "new-hash").version == 4  # order does not matter


def test_content_identical_to_the_newest_version_creates_none() -> None:
    plan = plan_push(V, V[2].content_hash)
    assert (plan.version, plan.created) == (3, False)


def test_content_identical_to_an_older_version_is_a_new_version() -> None:
    """Going back to v1's text after v3 is a change of the newest: it gets v4."""
    assert plan_push(V, V[0].content_hash) == plan_push(V, "other")


def test_labels_point_where_their_last_move_took_them() -> None:
    assert current_labels(MOVES) == {"production": 3, "staging": 2}
    assert current_labels(list(reversed(MOVES))) == {"production": 3, "staging": 2}
    assert current_labels([]) == {}


def test_resolve_by_number_label_latest_or_newest() -> None:
    assert resolve(V, MOVES, "greet").version == 3
    assert resolve(V, MOVES, "greet", version=1).version == 1
    assert resolve(V, MOVES, "greet", label="staging").version == 2
    assert resolve(V, MOVES, "greet", label="latest").version == 3
    with pytest.raises(NotFound, match=r"no version 9 \(versions 1 to 3\)"):
        resolve(V, MOVES, "greet", version=9)
    with pytest.raises(NotFound, match=r"no label 'canary' \(its labels: production, staging"):
        resolve(V, MOVES, "greet", label="canary")
    with pytest.raises(NotFound, match="vigil prompts push greet"):
        resolve([], [], "greet")


def test_a_move_records_where_the_label_came_from_and_the_next_seq() -> None:
    m = plan_move(V, MOVES, "greet", "production", 1, "ops", AT)
    assert (m.seq, m.from_version, m.to_version, m.by) == (5, 3, 1, "ops")
    new = plan_move(V, MOVES, "greet", "canary", 2, "ops", AT)
    assert (new.seq, new.from_version, new.to_version) == (5, 0, 2)
    with pytest.raises(Conflict, match="already points at version 3"):
        plan_move(V, MOVES, "greet", "production", 3, "ops", AT)
    with pytest.raises(NotFound, match="no version 7"):
        plan_move(V, MOVES, "greet", "production", 7, "ops", AT)


def test_rollback_goes_back_to_before_the_last_move() -> None:
    assert rollback_target(MOVES, "greet", "production") == 2
    back = [*MOVES, plan_move(V, MOVES, "greet", "production", 2, "ops", AT, "rollback")]
    assert current_labels(back)["production"] == 2
    assert rollback_target(back, "greet", "production") == 3  # a second rollback undoes it


def test_a_label_set_once_has_nothing_to_roll_back_to() -> None:
    with pytest.raises(Conflict, match="pointed at version 2 since it was set"):
        rollback_target(MOVES, "greet", "staging")
    with pytest.raises(NotFound, match="no label 'canary'"):
        rollback_target(MOVES, "greet", "canary")


def test_history_is_newest_first() -> None:
    assert [m.seq for m in label_history(MOVES)] == [4, 3, 2, 1]
    assert [m.seq for m in label_history(MOVES, "production")] == [4, 3, 1]


def test_diff_lists_model_and_param_changes_and_the_changed_lines() -> None:
    a = version(1, "Hi {{name}}", "gpt-4o-mini", temperature=0.2)
    b = version(2, "Hello {{name}}", "gpt-4o", temperature=0.7, max_tokens=100)
    result = diff(a, b)
    assert not result["identical"]
    assert result["changes"] == [
        {"field": "model", "from": "gpt-4o-mini", "to": "gpt-4o"},
        {"field": "params.max_tokens", "from": None, "to": 100},
        {"field": "params.temperature", "from": 0.2, "to": 0.7}]
    assert result["unified"][:2] == ["--- greet@1", "+++ greet@2"]
    assert "-    Hi {{name}}" in result["unified"] and "+    Hello {{name}}" in result["unified"]
    assert "    Be brief." not in [line for line in result["unified"]
                                   if line.startswith(("-", "+"))]
    text = render_diff(result)
    assert 'model: "gpt-4o-mini" -> "gpt-4o"' in text
    assert "params.max_tokens: (unset) -> 100" in text


def test_diff_of_identical_content_says_so() -> None:
    result = diff(V[0], version(4, "Hi {{name}}"))
    assert result["identical"] and result["changes"] == [] and result["unified"] == []
    assert render_diff(result) == "greet: versions 1 and 4 have identical content"


def test_diff_of_a_template_against_messages_names_the_kind() -> None:
    text = PromptContent(template="Hi")
    b = PromptVersion("p", "greet", 2, text, "", "ci", AT, text.content_hash())
    assert diff(V[0], b)["changes"][0] == {"field": "kind", "from": "chat", "to": "text"}
