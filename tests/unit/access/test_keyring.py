from __future__ import annotations

from pathlib import Path

import pytest

from vigil.access.keyring import KeyRing
from vigil.settings import Settings, redact_url


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


def test_callers_carry_a_public_id_and_the_digest_never_the_key() -> None:
    ring = KeyRing.parse("alpha-key=project-a,beta-key=project-b")
    caller = ring.caller_for_authorization("Bearer beta-key")
    assert caller is not None
    assert (caller.project, caller.key_id) == ("project-b", "env-2")
    assert "beta-key" not in repr(caller)
    assert ring.caller_for_authorization(None) is None
    assert ring.caller_for_authorization("Bearer") is None


def test_an_empty_env_spec_leaves_only_the_key_file(tmp_path: Path) -> None:
    settings = Settings(api_keys="", data_dir=tmp_path)  # type: ignore[arg-type]
    ring = KeyRing.from_settings(settings)
    assert ring.project_for_key("vigil-demo-key") is None
    assert KeyRing.from_settings(Settings(data_dir=tmp_path)).project_for_key(
        "vigil-demo-key") == "demo"


def test_settings_never_show_secrets() -> None:
    settings = Settings(api_keys="sekrit-key=p", internal_token="sekrit-token",  # type: ignore[arg-type]
                        judge_llm_api_key="sekrit-judge")  # type: ignore[arg-type]
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert "sekrit" not in text


@pytest.mark.parametrize(("url", "shown"), [
    ("http://vigil:pa55@ch:8123/vigil", "http://vigil:***@ch:8123/vigil"),
    ("https://ch.example/vigil", "https://ch.example/vigil"),
])
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_tls_needs_both_the_certificate_and_the_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="VIGIL_TLS_CERT_FILE and VIGIL_TLS_KEY_FILE"):
        Settings(tls_cert_file=tmp_path / "c.pem")
    assert Settings(tls_cert_file=tmp_path / "c.pem", tls_key_file=tmp_path / "k.pem").tls


@pytest.mark.parametrize(("spec", "enabled"), [
    ("vigil-demo-key=demo", True),
    ("k1=a, vigil-demo-key = demo", True),
    ("k1=a,k2=b", False),
    ("", False),
    ("vigil-demo-key-2=demo", False),
])
def test_the_demo_key_is_recognised_only_when_it_is_an_accepted_key(spec: str,
                                                                     enabled: bool) -> None:
    from pydantic import SecretStr

    from vigil.access.keyring import demo_key_enabled

    assert demo_key_enabled(Settings(api_keys=SecretStr(spec))) is enabled


def test_env_keys_are_admin_unless_the_entry_names_a_scope() -> None:
    ring = KeyRing.parse("k1=shop,k2=shop:read,k3=shop:write")
    scopes = {k: ring.caller_for_key(k).scope for k in ("k1", "k2", "k3")}  # type: ignore[union-attr]
    assert scopes == {"k1": "admin", "k2": "read", "k3": "write"}
    assert ring.project_for_key("k2") == "shop"
    with pytest.raises(ValueError, match="scope 'root' is not one of read, write, admin"):
        KeyRing.parse("k=shop:root")
