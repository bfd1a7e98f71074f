"""Fixtures of the judge tests: a real local OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.judge_server import FakeJudgeServer


@pytest.fixture
def judge_server() -> Iterator[FakeJudgeServer]:
    """A FakeJudgeServer listening on 127.0.0.1 (a fresh one per test: its script state
    counts requests per message)."""
    with FakeJudgeServer() as server:
        yield server
