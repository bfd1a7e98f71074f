"""The signatures of internal records: what verify accepts and why it refuses."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vigil.events.wire import PayloadError
from vigil.kafka.signing import (
    BAD_SIGNATURE,
    H_SIGNATURE,
    UNSIGNED,
    MissingSecret,
    SignatureError,
    check,
    internal_secret,
    sign,
    verify,
)
from vigil.launch.cli import SIGNING_SERVICES, app
from vigil.launch.up import TOKEN_FILE, internal_token_of
from vigil.settings import Settings

SECRET = b"the-internal-secret"
VALUE = b'{"project_id": "project-a", "event_id": "e1"}'
OTHER = [("content-type", b"application/json")]


@pytest.mark.parametrize(("headers", "value", "expected"), [
    pytest.param([sign(SECRET, VALUE)], VALUE, None, id="good"),
    pytest.param([*OTHER, sign(SECRET, VALUE)], VALUE, None, id="good among other headers"),
    pytest.param(dict([sign(SECRET, VALUE)]), VALUE, None, id="good as a mapping"),
    pytest.param([(H_SIGNATURE.upper(), sign(SECRET, VALUE)[1])], VALUE, None,
                 id="header name in another case"),
    pytest.param([sign(SECRET, b"")], None, None, id="empty value signed"),
    pytest.param(None, VALUE, UNSIGNED, id="no headers"),
    pytest.param([], VALUE, UNSIGNED, id="empty headers"),
    pytest.param(OTHER, VALUE, UNSIGNED, id="missing header"),
    pytest.param([sign(b"another-secret", VALUE)], VALUE, BAD_SIGNATURE, id="wrong secret"),
    pytest.param([sign(SECRET, VALUE)], VALUE.replace(b"project-a", b"project-b"),
                 BAD_SIGNATURE, id="tampered value"),
    pytest.param([sign(SECRET, VALUE)], VALUE + b"\n{}", BAD_SIGNATURE, id="appended line"),
    pytest.param([(H_SIGNATURE, b"")], VALUE, BAD_SIGNATURE, id="empty signature"),
    pytest.param([(H_SIGNATURE, sign(SECRET, VALUE)[1][7:])], VALUE, BAD_SIGNATURE,
                 id="digest without its scheme"),
    pytest.param([(H_SIGNATURE, None)], VALUE, BAD_SIGNATURE, id="header without a value"),
    pytest.param([sign(SECRET, VALUE), sign(b"another-secret", VALUE)], VALUE, BAD_SIGNATURE,
                 id="two signatures"),
])
def test_verify(headers: Any, value: bytes | None, expected: str | None) -> None:
    assert verify(SECRET, headers, value) == expected


def test_the_header_is_a_keyed_sha256_of_the_value() -> None:
    name, signature = sign(SECRET, VALUE)
    assert name == H_SIGNATURE
    assert signature.startswith(b"sha256=") and len(signature) == len(b"sha256=") + 64
    assert sign(SECRET, VALUE) == (name, signature)  # deterministic: replays verify
    assert sign(SECRET, VALUE + b" ") != (name, signature)


def test_check_raises_a_payload_error_the_poison_policy_dead_letters_at_once() -> None:
    check(SECRET, [sign(SECRET, VALUE)], VALUE)
    with pytest.raises(SignatureError, match=f"^{UNSIGNED}$") as refused:
        check(SECRET, OTHER, VALUE)
    assert isinstance(refused.value, PayloadError)
    with pytest.raises(SignatureError, match=f"^{BAD_SIGNATURE}$"):
        check(b"another-secret", [sign(SECRET, VALUE)], VALUE)


def test_the_secret_is_the_internal_token_and_required() -> None:
    settings = Settings(internal_token="sekrit")  # type: ignore[arg-type]
    assert internal_secret(settings) == b"sekrit"
    with pytest.raises(MissingSecret, match="VIGIL_INTERNAL_TOKEN is unset"):
        internal_secret(Settings(internal_token=""))  # type: ignore[arg-type]


@pytest.mark.parametrize("service", sorted(SIGNING_SERVICES))
def test_the_services_on_internal_topics_refuse_to_start_without_the_secret(
        service: str) -> None:
    result = CliRunner().invoke(app, [service], env={"VIGIL_INTERNAL_TOKEN": ""})
    assert result.exit_code == 2
    assert "VIGIL_INTERNAL_TOKEN is unset" in result.stderr


def test_vigil_up_keeps_its_generated_secret_in_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = internal_token_of(data_dir)
    assert len(first) >= 32
    assert internal_token_of(data_dir) == first  # the next run accepts this run's records
    assert stat.S_IMODE((data_dir / TOKEN_FILE).stat().st_mode) == 0o600
    assert internal_token_of(tmp_path / "other") != first
