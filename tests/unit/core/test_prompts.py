"""Prompt content: parsing a prompt file's document, the content hash, `{{variable}}`
compile and its errors."""

from __future__ import annotations

from typing import Any

import pytest

from vigil.core.prompts import (
    ChatMessage,
    PromptContent,
    PromptError,
    check_label,
    check_name,
    parse_content,
)

CHAT = {"messages": [{"role": "system", "content": "You help {{ customer }} with {{topic}}."},
                     {"role": "user", "content": "{{question}} (from {{customer}})"}],
        "model": "gpt-4o-mini", "params": {"temperature": 0.2, "max_tokens": 300}}


def test_a_chat_document_becomes_content() -> None:
    content = parse_content(CHAT)
    assert content.kind == "chat"
    assert content.messages[0] == ChatMessage("system", "You help {{ customer }} with {{topic}}.")
    assert content.model == "gpt-4o-mini" and content.params == {"temperature": 0.2,
                                                                 "max_tokens": 300}
    assert content.variables() == ["customer", "topic", "question"]


def test_compile_fills_every_placeholder_and_ignores_extra_variables() -> None:
    compiled = parse_content(CHAT).compile(customer="Ada", topic="refunds", question="Where?",
                                           unused=1)
    assert compiled == [{"role": "system", "content": "You help Ada with refunds."},
                        {"role": "user", "content": "Where? (from Ada)"}]


def test_a_text_template_compiles_to_text() -> None:
    content = parse_content({"template": "Summarize: {{text}}"})
    assert content.kind == "text" and content.compile(text="a b c") == "Summarize: a b c"


def test_a_missing_variable_is_named_with_what_to_pass() -> None:
    with pytest.raises(PromptError) as missing:
        parse_content(CHAT).compile(customer="Ada")
    assert str(missing.value) == ("missing variables 'topic', 'question': pass topic=..., "
                                  "question=... to compile()")
    with pytest.raises(PromptError, match=r"^missing variable 'text': pass text=\.\.\."):
        parse_content({"template": "{{text}}"}).compile()


def test_the_hash_depends_on_content_only_and_on_all_of_it() -> None:
    base = parse_content(CHAT)
    assert base.content_hash() == parse_content(dict(CHAT)).content_hash()
    reordered = {**CHAT, "params": {"max_tokens": 300, "temperature": 0.2}}
    assert parse_content(reordered).content_hash() == base.content_hash()
    for change in ({"model": "gpt-4o"}, {"params": {"temperature": 0.3, "max_tokens": 300}},
                   {"messages": [*CHAT["messages"], {"role": "user", "content": "x"}]}):
        assert parse_content({**CHAT, **change}).content_hash() != base.content_hash()
    text = PromptContent(template="hello")
    assert text.content_hash() != PromptContent(messages=(ChatMessage("user", "hello"),)
                                                ).content_hash()


@pytest.mark.parametrize(("doc", "reason"), [
    ({}, "either 'messages'"),
    ({"messages": [{"role": "user", "content": "x"}], "template": "y"}, "not both"),
    ({"messages": []}, "non-empty list"),
    ({"messages": [{"role": "boss", "content": "x"}]}, "role 'boss' is not one of"),
    ({"messages": [{"role": "user"}]}, "exactly 'role' and 'content'"),
    ({"messages": [{"role": "user", "content": 3}]}, "content must be a text"),
    ({"template": "  "}, "non-empty text"),
    ({"template": "x", "model": 4}, "'model' must be a string"),
    ({"template": "x", "params": []}, "'params' must be an object"),
    ({"template": "x", "params": {"temperature": "hot"}}, "params.temperature must be a number"),
    ({"template": "x", "params": {"temperature": float("nan")}}, "finite"),
    ({"template": "x", "params": {"max_tokens": 0}}, "max_tokens must be positive"),
    ({"template": "x", "params": {"max_tokens": True}}, "max_tokens must be an integer"),
    ({"template": "x", "params": {"tools": {}}}, "params.tools must be a list"),
    ({"template": "x", "prompt": "y"}, "unknown field prompt"),
    (["not", "an", "object"], "is an object"),
])
def test_bad_documents_say_what_to_fix(doc: Any, reason: str) -> None:
    with pytest.raises(PromptError, match=reason):
        parse_content(doc)


@pytest.mark.parametrize("name", ["greet", "support.v2", "a_b-c", "X" * 128])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", "a@1", "a:prod", "a/b", "x" * 129, "é"])
def test_names_that_would_be_ambiguous_or_odd_are_refused(name: str) -> None:
    with pytest.raises(PromptError, match="letters, digits"):
        check_name(name)


def test_latest_is_not_a_label_one_can_set() -> None:
    with pytest.raises(PromptError, match="newest version"):
        check_label("latest")
    assert check_label("production") == "production"
