"""The demo's stand-in for an LLM judge: what it answers (pure; the HTTP server is
``vigil.demo.judge_server``).

It is a heuristic, not a language model, and says so: the reply's ``model`` is
``DEMO_JUDGE_MODEL`` and every rationale starts with ``DEMO_PREFIX``. It reads the
trace the way the judge stage renders it (``vigil.judge.llm.prompt.render_trace``:
the conversation, the requested format and the answer between ``<<<`` / ``>>>``
markers) and scores the answer's helpfulness in [0, 1]:

- blank: 0.0 ``empty``; a refusal: 0.1 ``refusal``; mostly Spanish words to an English
  question: 0.2 ``wrong_language``; JSON asked for and not parseable: 0.2
  ``broken_format``; evasive boilerplate: 0.35 ``evasive``;
- else ``helpful``, 0.7 to 1.0 (0.15 less for an answer under 60 characters), spread by a
  hash of the answer, so the same answer always gets the same score.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

DEMO_JUDGE_MODEL = "vigil-demo-judge"
DEMO_PREFIX = "[demo judge: a heuristic stand-in, not an LLM]"

_REFUSAL = re.compile(r"\b(?:can't|cannot|unable to) (?:help|assist|provide)", re.IGNORECASE)
_EVASIVE = re.compile(
    r"not sure about|depends on many factors|don't have enough information|"
    r"always happy to help|look at the documentation",
    re.IGNORECASE,
)
_SPANISH = frozenset(
    ("el", "la", "los", "las", "de", "del", "que", "es", "por", "para", "con", "una", "su",
     "lo", "le", "se", "usted", "más")
)
_ENGLISH = frozenset(
    ("the", "and", "is", "are", "of", "to", "you", "your", "that", "this", "with", "for",
     "it", "be", "can", "how")
)
_SECTION = re.compile(r"<<<(?P<name>[A-Z]+)\n(?P<body>.*?)\n(?P=name)>>>", re.DOTALL)
_ROLE_LINE = re.compile(r"^\[(?P<role>[a-z]+)[^\]]*\]$", re.MULTILINE)


def sections(rendered: str) -> dict[str, str]:
    """The ``<<<NAME ... NAME>>>`` parts of a rendered trace, by name."""
    return {m["name"]: m["body"] for m in _SECTION.finditer(rendered)}


def last_user_turn(conversation: str) -> str:
    """The text of the last ``[user]`` turn of a rendered conversation ("" if none)."""
    marks = list(_ROLE_LINE.finditer(conversation))
    for i in range(len(marks) - 1, -1, -1):
        if marks[i]["role"] == "user":
            end = marks[i + 1].start() if i + 1 < len(marks) else len(conversation)
            return conversation[marks[i].end() : end].strip()
    return ""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-záéíóúñü']+", text.lower())


def _spanish_to_english(question: str, answer: str) -> bool:
    asked = _words(question)
    said = _words(answer)
    english_question = sum(w in _ENGLISH for w in asked) >= sum(w in _SPANISH for w in asked)
    spanish = sum(w in _SPANISH for w in said)
    return english_question and spanish >= 3 and spanish > sum(w in _ENGLISH for w in said)


def _spread(answer: str) -> float:
    digest = hashlib.sha256(answer.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def score_answer(question: str, answer: str, wants_json: bool) -> tuple[float, str, str]:
    """(score, label, rationale without the demo prefix) for one answer."""
    text = answer.strip()
    if not text or text == "(empty)":
        return 0.0, "empty", "the answer is blank"
    if _REFUSAL.search(text[:300]):
        return 0.1, "refusal", "the answer refuses instead of helping"
    if _spanish_to_english(question, text):
        return 0.2, "wrong_language", "the answer is in Spanish, the question in English"
    if wants_json:
        try:
            json.loads(text)
        except ValueError:
            return 0.2, "broken_format", "JSON was asked for and the answer does not parse"
    if _EVASIVE.search(text):
        return 0.35, "evasive", "the answer does not address the question"
    score = 0.7 + 0.3 * _spread(text)
    if len(text) < 60:
        return round(score - 0.15, 3), "helpful", "on topic, but very brief"
    return round(score, 3), "helpful", "the answer addresses the question"


def _rendered_trace(request: dict[str, Any]) -> str:
    messages = request.get("messages")
    if not isinstance(messages, list):
        raise ValueError("messages must be a list")
    users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users or not isinstance(users[-1], str):
        raise ValueError("no user message to judge")
    return users[-1]


def completion_for(request: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions reply to one judge request (ValueError: a bad request)."""
    rendered = _rendered_trace(request)
    parts = sections(rendered)
    wants_json = '"json_object"' in rendered.split("<<<ANSWER", 1)[0].rsplit("CONVERSATION>>>")[-1]
    score, label, why = score_answer(
        last_user_turn(parts.get("CONVERSATION", "")), parts.get("ANSWER", ""), wants_json
    )
    verdict = {"score": score, "label": label, "rationale": f"{DEMO_PREFIX} {why}"}
    content = json.dumps(verdict)
    return {
        "id": "demo-" + hashlib.sha256(rendered.encode("utf-8")).hexdigest()[:24],
        "object": "chat.completion",
        "model": DEMO_JUDGE_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": max(1, len(rendered) // 4),
            "completion_tokens": max(1, len(content) // 4),
            "total_tokens": max(1, len(rendered) // 4) + max(1, len(content) // 4),
        },
    }
