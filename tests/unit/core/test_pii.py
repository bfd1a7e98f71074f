"""PII masking: what is masked, what must stay, counts, and linear time on huge inputs."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.pii import PII_KINDS, luhn_valid, mask_pii

PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "card": "[CARD]", "secret": "[SECRET]"}


@pytest.mark.parametrize(("text", "masked", "counts"), [
    # emails
    ("mail john.doe+tag@example.co.uk now", "mail [EMAIL] now", {"email": 1}),
    ("<jane_roe%x@mail.example.com>, bob@ex-ample.io.", "<[EMAIL]>, [EMAIL].", {"email": 2}),
    ("unicode: 山田太郎@例え.jp and josé.núñez@correo.es", "unicode: [EMAIL] and [EMAIL]",
     {"email": 2}),
    ("RTL مرحبا user@example.com שלום", "RTL مرحبا [EMAIL] שלום", {"email": 1}),
    ("emoji 😀user@example.com😀", "emoji 😀[EMAIL]😀", {"email": 1}),
    # cards: Luhn-valid only, contiguous or grouped
    ("visa 4111 1111 1111 1111 thanks", "visa [CARD] thanks", {"card": 1}),
    ("mc 5555-5555-5555-4444.", "mc [CARD].", {"card": 1}),
    ("amex 378282246310005", "amex [CARD]", {"card": 1}),
    ("amex 3782 822463 10005", "amex [CARD]", {"card": 1}),
    ("19 digits 6011111111111111110 end", "19 digits [CARD] end", {"card": 1}),
    ("card 4111 1111 1111 1111 exp 12/25", "card [CARD] exp 12/25", {"card": 1}),
    ("card and cvv 4242 4242 4242 4242 123", "card and cvv [CARD] 123", {"card": 1}),
    ("卡号4111111111111111。", "卡号[CARD]。", {"card": 1}),
    # phones
    ("call +44 20 7946 0958 today", "call [PHONE] today", {"phone": 1}),
    ("call +1-202-555-0143.", "call [PHONE].", {"phone": 1}),
    ("call +44 (0)20 7946 0958", "call [PHONE]", {"phone": 1}),
    ("e164 +12025550143", "e164 [PHONE]", {"phone": 1}),
    ("us (202) 555-0143 or 202-555-0143", "us [PHONE] or [PHONE]", {"phone": 2}),
    ("dots 202.555.0143, spaces 202 555 0143", "dots [PHONE], spaces [PHONE]", {"phone": 2}),
    ("toll free 1-800-555-0199", "toll free [PHONE]", {"phone": 1}),
    ("電話 +81 3-1234-5678 です", "電話 [PHONE] です", {"phone": 1}),
    # a mix, each counted once
    ("jane@example.com, +1 (415) 555-0132, 4242424242424242, password=hunter2",
     "[EMAIL], [PHONE], [CARD], password=[SECRET]",
     {"email": 1, "phone": 1, "card": 1, "secret": 1}),
])
def test_masks(text: str, masked: str, counts: dict[str, int]) -> None:
    assert mask_pii(text) == (masked, counts)


@pytest.mark.parametrize(("text", "masked"), [
    ("key sk-abcdefghijklmnopqrstuvwxyz0123456789 ok", "key [SECRET] ok"),
    ("key sk-proj-Abc123Def456Ghi789Jkl012Mno345_-x ok", "key [SECRET] ok"),
    ("key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345 ok", "key [SECRET] ok"),
    ("aws AKIAIOSFODNN7EXAMPLE ok", "aws [SECRET] ok"),
    ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok", "gh [SECRET] ok"),
    ("gh gho_abcdefghijklmnopqrstuvwxyz0123456789 ok", "gh [SECRET] ok"),
    ("gh ghs_abcdefghijklmnopqrstuvwxyz0123456789 ok", "gh [SECRET] ok"),
    ("gh github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz ok", "gh [SECRET] ok"),
    ("slack xoxb-123456789012-abcdefghijklmnop ok", "slack [SECRET] ok"),
    ("slack xoxp-123456789012-123456789012-abcdef ok", "slack [SECRET] ok"),
    ("google AIzaSyA1234567890abcdefghijklmnopqrstuv ok", "google [SECRET] ok"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P ok",
     "jwt [SECRET] ok"),
    ("Authorization: Bearer abc123def456ghi789", "Authorization: Bearer [SECRET]"),
    ("authorization: bearer abc.def-ghi_jkl~mno", "authorization: bearer [SECRET]"),
    ("password=hunter2 next", "password=[SECRET] next"),
    ("PASSWORD: hunter2", "PASSWORD: [SECRET]"),
    ("api_key: 1234abcd", "api_key: [SECRET]"),
    ("X-Api-Key: abcd1234", "X-Api-Key: [SECRET]"),
    ('secret="two words"', 'secret="[SECRET]"'),
    ("secret = 'single quoted'", "secret = '[SECRET]'"),
    ('{"password": "p@ss w0rd", "user": "bob"}', '{"password": "[SECRET]", "user": "bob"}'),
    ("url ?access_token=abc123&page=2", "url ?access_token=[SECRET]&page=2"),
    ("export DB_PASSWORD=s3cr3t", "export DB_PASSWORD=[SECRET]"),
    ("token=tok_123", "token=[SECRET]"),
    ("auth_token: Bearer abcdef123456", "auth_token: Bearer [SECRET]"),
    ("api_key=sk-proj-Abc123Def456Ghi789Jkl012", "api_key=[SECRET]"),
])
def test_masks_each_secret_form(text: str, masked: str) -> None:
    assert mask_pii(text) == (masked, {"secret": 1})


@pytest.mark.parametrize("text", [
    "",
    "Plain prose with no personal data at all.",
    "Released in 2024, costs $1,299.99 (or €999), 42 items, 3 x 7 = 21.",
    "ISO dates 2024-01-15 and 2024-01-15T10:20:30+05:30, time 09:30, week 2024-W03.",
    "versions v3.11.7, 10.0.19045.1234, 1.2.3-rc.1, ip 192.168.100.1000",
    "order #4111111111111112 and id 1234567812345678 fail Luhn",
    "a 20-digit id 41111111111111111111 is not a card",
    "short numbers 555-0143 and 12-34-56 and +5.25% and 1+2+3",
    "tokens: 1500, max_tokens=100, tokenizer: bpe, secret_sauce recipe",
    "Bearer authentication is described in RFC 6750.",
    "task-runner-abcdefghijklmnopqrstuvwxyz, risk-assessment-framework-document",
    "email-like but not: user@localhost, @handle, a@b, x@y.z1",
    "emoji 😀🎉 CJK 你好世界 RTL مرحبا بالعالم שלום עולם",
])
def test_leaves_alone(text: str) -> None:
    assert mask_pii(text) == (text, {})


@pytest.mark.parametrize(("kinds", "masked", "counts"), [
    (frozenset(), "a@b.co +1-202-555-0143 4111111111111111 password=x", {}),
    ({"email"}, "[EMAIL] +1-202-555-0143 4111111111111111 password=x", {"email": 1}),
    ({"card", "phone"}, "a@b.co [PHONE] [CARD] password=x", {"phone": 1, "card": 1}),
    (frozenset(PII_KINDS), "[EMAIL] [PHONE] [CARD] password=[SECRET]",
     {"email": 1, "phone": 1, "card": 1, "secret": 1}),
])
def test_only_the_requested_kinds(kinds: set[str], masked: str, counts: dict[str, int]) -> None:
    text = "a@b.co +1-202-555-0143 4111111111111111 password=x"
    assert mask_pii(text, kinds) == (masked, counts)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="emails"):
        mask_pii("x", {"emails"})


@pytest.mark.parametrize(("digits", "valid"), [
    ("4111111111111111", True),
    ("4111111111111112", False),
    ("378282246310005", True),
    ("6011111111111117", True),
    ("79927398713", True),
    ("79927398710", False),
    ("0", True),
    ("", False),
    ("4111 1111 1111 1111", False),  # digits only
    ("\uff14\uff11\uff11\uff11", False),  # full-width digits are not ASCII
])
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


def test_masking_twice_changes_nothing_more() -> None:
    text = 'jane@example.com +1 (415) 555-0132 4242424242424242 {"password": "x"} sk-' + "a" * 30
    once, counts = mask_pii(text)
    assert counts == {"secret": 2, "email": 1, "card": 1, "phone": 1}
    assert mask_pii(once) == (once, {})


_RNG = random.Random(20260521)
_HUGE = 5_000_000


def _random_text(alphabet: str) -> str:
    return "".join(_RNG.choices(alphabet, k=_HUGE))


_HUGE_INPUTS: dict[str, Callable[[], str]] = {
    "digits": lambda: _random_text("0123456789"),
    "digits and at-signs": lambda: _random_text("0123456789@"),
    "digits and separators": lambda: _random_text("0123456789@ -.+()"),
    "at-signs": lambda: "@" * _HUGE,
    "one long local part": lambda: "a" * _HUGE + "@example.com",
    "one long domain": lambda: "x@" + "a." * (_HUGE // 2),
    "digit groups": lambda: "4111 " * (_HUGE // 5),
    "plus signs": lambda: "+1 " * (_HUGE // 3),
    "key prefixes": lambda: "sk-" * (_HUGE // 3),
    "assignments": lambda: "password=" * (_HUGE // 9),
    "bearer": lambda: "Bearer " * (_HUGE // 7),
    "spaces after a key": lambda: "password:" + " " * _HUGE,
    "symbols": lambda: _random_text("ab1@.-+ ()=:_kt'\""),
    "cjk and emoji": lambda: "你好世界😀" * (_HUGE // 5),
}


@pytest.mark.parametrize("make", _HUGE_INPUTS.values(), ids=_HUGE_INPUTS.keys())
def test_huge_inputs_finish(make: Callable[[], str]) -> None:
    text = make()
    masked, counts = mask_pii(text)
    assert sum(counts.values()) == _placeholders(masked)


def test_huge_realistic_text_masks_every_occurrence() -> None:
    chunk = "Hi, I'm Jane (jane@example.com, +1 202-555-0143), card 4111 1111 1111 1111. 你好 "
    masked, counts = mask_pii(chunk * 20_000)  # ~1.6 MB
    assert counts == {"email": 20_000, "phone": 20_000, "card": 20_000}
    assert masked == "Hi, I'm Jane ([EMAIL], [PHONE]), card [CARD]. 你好 " * 20_000


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab7 0-.+@()=:_'\"skAIZ1eyJ\n😀你")), max_size=200))
def test_counts_match_the_placeholders_written(text: str) -> None:
    masked, counts = mask_pii(text)
    for kind, n in counts.items():
        assert n > 0
        assert masked.count(PLACEHOLDERS[kind]) == n


def _placeholders(text: str) -> int:
    return sum(text.count(p) for p in PLACEHOLDERS.values())
