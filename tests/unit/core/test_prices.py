"""Cost: equal to genai-prices for real models, overrides first, never a guess for unknowns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price
from genai_prices.data_snapshot import get_snapshot

from vigil.core.prices import PriceBook, PriceOverride, load_price_overrides
from vigil.events import Cost, TokenCounts


def expected_cost(provider: str, model: str, tokens: TokenCounts) -> Cost:
    usage = Usage(input_tokens=tokens.input_tokens, output_tokens=tokens.output_tokens,
                  cache_read_tokens=tokens.cached_input_tokens)
    calc = calc_price(usage, model_ref=model, provider_id=provider or None)
    return Cost(float(calc.input_price), float(calc.output_price), float(calc.total_price),
                known=True, source="genai-prices")


TOKENS = [
    TokenCounts(1_000, 200, 0, estimated=False),
    TokenCounts(1_000, 200, 300, estimated=False),
    TokenCounts(1_000, 200, 1_000, estimated=False),
    TokenCounts(0, 0, 0, estimated=True),
    TokenCounts(123_457, 98_765, 4_321, estimated=False),
    TokenCounts(250_000, 10_000, 100_000, estimated=False),  # past Gemini's 200k tier
    TokenCounts(3_000_000, 1, 2_999_999, estimated=False),
]
MODELS = [
    ("openai", "gpt-4o"),
    ("", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-3-5-sonnet"),
    ("", "claude-3-5-sonnet-latest"),
    ("google", "gemini-1.5-flash"),
    ("google", "gemini-2.5-pro"),
    ("OpenAI", "GPT-4o"),
]


@pytest.mark.parametrize("tokens", TOKENS, ids=str)
@pytest.mark.parametrize(("provider", "model"), MODELS)
def test_equals_genai_prices(provider: str, model: str, tokens: TokenCounts) -> None:
    book = PriceBook()
    expected = expected_cost(provider, model, tokens)
    assert book.price(provider, model, tokens) == expected
    assert book.price(provider, model, tokens) == expected  # from the cache too


def test_equals_genai_prices_for_every_bundled_model() -> None:
    book = PriceBook()
    checked = 0
    for provider in get_snapshot().providers:
        for model in provider.models:
            for tokens in TOKENS[1], TOKENS[4], TOKENS[5]:
                try:
                    expected = expected_cost(provider.id, model.id, tokens)
                except LookupError:  # a few ids do not match their own rules
                    expected = Cost(known=False, source="none")
                assert book.price(provider.id, model.id, tokens) == expected, (provider.id,
                                                                               model.id)
                checked += 1
    assert checked > 1_000


def test_cached_tokens_are_cheaper() -> None:
    book = PriceBook()
    plain = book.price("openai", "gpt-4o", TokenCounts(1_000_000, 0, 0, estimated=False))
    cached = book.price("openai", "gpt-4o", TokenCounts(1_000_000, 0, 1_000_000, estimated=False))
    assert plain.input_usd == pytest.approx(2.5)
    assert cached.input_usd == pytest.approx(1.25)


@pytest.mark.parametrize(("provider", "model"), [
    ("acme", "acme-support-ft-v3"),
    ("", "totally-unknown-model-xyz"),
    ("openai", ""),
    ("", ""),
    ("no-such-provider", "gpt-4o"),
])
def test_unknown_model_is_unknown_never_guessed(provider: str, model: str) -> None:
    cost = PriceBook().price(provider, model, TokenCounts(1_000, 200, 100, estimated=False))
    assert cost == Cost(0.0, 0.0, 0.0, known=False, source="none")


ACME = PriceOverride("acme", "acme-support-ft-v3", input_per_mtok=1.5, output_per_mtok=6.0,
                     cached_input_per_mtok=0.75)
ANY_PROVIDER = PriceOverride("", "house-model", input_per_mtok=2.0, output_per_mtok=8.0)
CHEAP_GPT = PriceOverride("openai", "gpt-4o", input_per_mtok=1.0, output_per_mtok=1.0)


@pytest.mark.parametrize(("provider", "model", "tokens", "expected"), [
    ("acme", "acme-support-ft-v3", TokenCounts(1_000_000, 1_000_000, 0, False),
     Cost(1.5, 6.0, 7.5, True, "override")),
    ("ACME", "Acme-Support-FT-v3", TokenCounts(1_000_000, 0, 500_000, False),
     Cost(1.125, 0.0, 1.125, True, "override")),
    ("other", "house-model", TokenCounts(500_000, 250_000, 100_000, False),  # cached at input
     Cost(1.0, 2.0, 3.0, True, "override")),
    ("", "house-model", TokenCounts(0, 0, 0, True), Cost(0.0, 0.0, 0.0, True, "override")),
    ("openai", "gpt-4o", TokenCounts(2_000_000, 1_000_000, 0, False),  # wins over genai-prices
     Cost(2.0, 1.0, 3.0, True, "override")),
    ("other", "acme-support-ft-v3", TokenCounts(1_000, 1_000, 0, False),  # provider must match
     Cost(0.0, 0.0, 0.0, False, "none")),
])
def test_overrides(provider: str, model: str, tokens: TokenCounts, expected: Cost) -> None:
    book = PriceBook([ACME, ANY_PROVIDER, CHEAP_GPT])
    cost = book.price(provider, model, tokens)
    assert cost.known == expected.known
    assert cost.source == expected.source
    assert (cost.input_usd, cost.output_usd, cost.total_usd) == pytest.approx(
        (expected.input_usd, expected.output_usd, expected.total_usd))


def test_exact_provider_override_beats_any_provider_override() -> None:
    specific = PriceOverride("acme", "house-model", input_per_mtok=9.0, output_per_mtok=9.0)
    book = PriceBook([ANY_PROVIDER, specific])
    tokens = TokenCounts(1_000_000, 0, 0, estimated=False)
    assert book.price("acme", "house-model", tokens).input_usd == pytest.approx(9.0)
    assert book.price("zeta", "house-model", tokens).input_usd == pytest.approx(2.0)


GOOD_FILE = """\
models:
  - provider: acme
    model: acme-support-ft-v3
    input_per_mtok: 1.5
    output_per_mtok: 6.0
    cached_input_per_mtok: 0.75   # optional
  - provider: ""
    model: house-model
    input_per_mtok: 2
    output_per_mtok: 8
"""


def test_load_price_overrides(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(GOOD_FILE, encoding="utf-8")
    assert load_price_overrides(path) == [ACME, ANY_PROVIDER]
    assert load_price_overrides(path)[1].cached_input_per_mtok == 2.0  # defaults to input


def test_load_empty_model_list(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("models: []\n", encoding="utf-8")
    assert load_price_overrides(path) == []


ENTRY = "  - {provider: acme, model: m0, input_per_mtok: 1, output_per_mtok: 2}\n"


@pytest.mark.parametrize(("text", "message"), [
    (ENTRY + "  - {provider: acme, input_per_mtok: 1, output_per_mtok: 2}\n",
     r"models\[1\]: missing field 'model'"),
    (ENTRY + "  - {model: m1, input_per_mtok: 1, output_per_mtok: 2}\n",
     r"models\[1\]: missing field 'provider'"),
    (ENTRY + "  - {provider: acme, model: m1, output_per_mtok: 2}\n",
     r"models\[1\]: missing field 'input_per_mtok'"),
    (ENTRY + "  - {provider: acme, model: m1, input_per_mtok: 1}\n",
     r"models\[1\]: missing field 'output_per_mtok'"),
    (ENTRY + "  - {provider: acme, model: m1, input_per_mtok: -1, output_per_mtok: 2}\n",
     r"models\[1\]: field 'input_per_mtok': must not be negative"),
    (ENTRY + "  - {provider: acme, model: m1, input_per_mtok: 1, output_per_mtok: -0.5}\n",
     r"models\[1\]: field 'output_per_mtok': must not be negative"),
    (ENTRY + "  - {provider: a, model: m1, input_per_mtok: 1, output_per_mtok: 2,"
             " cached_input_per_mtok: -1}\n",
     r"models\[1\]: field 'cached_input_per_mtok': must not be negative"),
    (ENTRY + "  - {provider: acme, model: m1, input_per_mtok: cheap, output_per_mtok: 2}\n",
     r"models\[1\]: field 'input_per_mtok': must be a number"),
    (ENTRY + "  - {provider: acme, model: m1, input_per_mtok: '1.5', output_per_mtok: 2}\n",
     r"models\[1\]: field 'input_per_mtok': must be a number"),
    (ENTRY + "  - {provider: acme, model: m1, input_per_mtok: true, output_per_mtok: 2}\n",
     r"models\[1\]: field 'input_per_mtok': must be a number"),
    (ENTRY + "  - {provider: acme, model: m1, input_per_mtok: .nan, output_per_mtok: 2}\n",
     r"models\[1\]: field 'input_per_mtok': must be finite"),
    (ENTRY + "  - {provider: acme, model: m1, input_per_mtok: 1, output_per_mtok: 2, x: 1}\n",
     r"models\[1\]: unknown field\(s\) \['x'\]"),
    (ENTRY + "  - {provider: acme, model: '', input_per_mtok: 1, output_per_mtok: 2}\n",
     r"models\[1\]: field 'model' must be a non-empty string"),
    (ENTRY + "  - {provider: 7, model: m1, input_per_mtok: 1, output_per_mtok: 2}\n",
     r"models\[1\]: field 'provider' must be a string"),
    (ENTRY + "  - just a string\n", r"models\[1\]: expected a mapping"),
    (ENTRY + ENTRY, r"models\[1\]: duplicate of models\[0\]"),
])
def test_bad_entry_names_file_index_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n" + text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as caught:
        load_price_overrides(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("text", [
    "",
    "models: {provider: acme}\n",
    "- provider: acme\n",
    "models: []\nextra: 1\n",
    "models: [\n",
])
def test_bad_file_names_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_price_overrides(path)
