"""Endpoint schemes and the classification of a rate-limit answer."""

from __future__ import annotations

import grpc
import pytest

from vigil_sdk.transport import classify, resolve_endpoint


@pytest.mark.parametrize(("endpoint", "tls", "expected"), [
    ("127.0.0.1:50051", False, ("127.0.0.1:50051", False)),
    ("127.0.0.1:50051", True, ("127.0.0.1:50051", True)),
    ("https://vigil.example:443", False, ("vigil.example:443", True)),
    ("http://localhost:50051/", True, ("localhost:50051", False)),
])
def test_the_scheme_decides_tls(endpoint: str, tls: bool, expected: tuple[str, bool]) -> None:
    assert resolve_endpoint(endpoint, tls) == expected


def test_other_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        resolve_endpoint("grpcs://host:1", False)


class _Err(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_a_rate_limit_is_transient_and_an_oversize_request_is_split() -> None:
    limited = classify(_Err(grpc.StatusCode.RESOURCE_EXHAUSTED,
                            "rate limit of 5 events/s for this API key exceeded; retry in 2 s"))
    assert limited.outcome == "transient"
    too_big = classify(_Err(grpc.StatusCode.RESOURCE_EXHAUSTED,
                            "Received message larger than max (20000000 vs. 16777216)"))
    assert too_big.outcome == "too_large"


def test_an_overloaded_ingest_is_transient() -> None:
    overloaded = classify(_Err(grpc.StatusCode.RESOURCE_EXHAUSTED,
                               "ingest is overloaded: 50000 events pending (limit 50000); "
                               "retry with backoff"))
    assert overloaded.outcome == "transient"
