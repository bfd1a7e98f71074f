from __future__ import annotations

import pytest

from vigil.auth import KeyRing


def test_keys_map_to_projects_and_are_held_hashed() -> None:
    ring = KeyRing.parse("alpha-key=project-a, beta-key=project-b")
    assert ring.project_for_key("alpha-key") == "project-a"
    assert ring.project_for_key("beta-key") == "project-b"
    assert ring.project_for_key("gamma") is None
    assert "alpha-key" not in repr(vars(ring))


@pytest.mark.parametrize(("metadata", "project"), [
    ([("authorization", "Bearer alpha-key")], "project-a"),
    ([("authorization", "bearer alpha-key")], "project-a"),
    ([("authorization", "Basic alpha-key")], None),
    ([("authorization", "Bearer ")], None),
    ([("x-api-key", "alpha-key")], None),
    ([], None),
])
def test_metadata(metadata: list[tuple[str, str]], project: str | None) -> None:
    assert KeyRing.parse("alpha-key=project-a").project_for_metadata(metadata) == project


@pytest.mark.parametrize("spec", ["", "keyonly", "=project", "key=", " , "])
def test_bad_key_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="VIGIL_API_KEYS"):
        KeyRing.parse(spec)
