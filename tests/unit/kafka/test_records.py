from __future__ import annotations

import pytest

from vigil.kafka.producer import json_line_records


@pytest.mark.parametrize(("sizes", "limit", "expected"), [
    ([], 100, []),
    ([10, 10, 10], 100, [3]),
    ([40, 40, 40], 100, [2, 1]),
    ([150, 10], 100, [1, 1]),  # a line larger than the limit travels alone
    ([50] * 10, 102, [2, 2, 2, 2, 2]),
])
def test_lines_are_packed_under_the_record_limit(sizes: list[int], limit: int,
                                                 expected: list[int]) -> None:
    lines = [b"x" * n for n in sizes]
    records = json_line_records(lines, limit)
    assert [len(r.split(b"\n")) for r in records] == expected
    assert b"\n".join(records) == b"\n".join(lines)
    assert all(len(r) <= limit for r in records if b"\n" in r)
