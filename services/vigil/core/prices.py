"""Cost of one LLM call in USD: price overrides first, then genai-prices.

Contract: `PriceBook.price(provider, model, tokens)` is pure apart from
caching. An override matching the provider and model (case-insensitive; an
override whose provider is "" matches any provider) wins. Otherwise the
price comes from the bundled genai-prices data at the current time, equal
to `genai_prices.calc_price` with `input_tokens` (which include the cached
ones), `output_tokens` and `cache_read_tokens`; an empty provider lets
genai-prices infer it from the model name. An unknown provider or model
gives `Cost(known=False, source="none")` with zero amounts: never a guess.

`load_price_overrides(path)` reads the YAML overrides file and raises a
ValueError naming the file, the entry and the field for any bad entry.

Speed: `calc_price` spends ~50 us per call computing a generic usage
breakdown. The book caches the model found for each (provider, model) (or
that there is none) and, per price set, the four rates that matter for
token usage; it checks once, against `ModelPrice.calc_price` on probe usages
around every tier threshold, that the rates reproduce genai-prices exactly,
and falls back to `ModelPrice.calc_price` for a price set where they don't.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import yaml
from genai_prices import Usage, calc_price
from genai_prices.types import ModelInfo, ModelPrice, TieredPrices, calc_unit_price

from vigil.events import Cost, TokenCounts

_PER_MTOK = 1_000_000
_MAX_CACHED_MODELS = 4096  # model names come from clients: bound the cache


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """USD per million tokens for one model; cached input defaults to the input rate."""

    provider: str
    model: str
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None  # None: the input rate (set on init)

    def __post_init__(self) -> None:
        if self.cached_input_per_mtok is None:
            object.__setattr__(self, "cached_input_per_mtok", self.input_per_mtok)

    def cost(self, tokens: TokenCounts) -> Cost:
        cached_rate = self.cached_input_per_mtok or 0.0
        input_tokens = max(tokens.input_tokens, 0)
        cached = min(max(tokens.cached_input_tokens, 0), input_tokens)
        input_usd = (
            (input_tokens - cached) * self.input_per_mtok + cached * cached_rate
        ) / _PER_MTOK
        output_usd = max(tokens.output_tokens, 0) * self.output_per_mtok / _PER_MTOK
        return Cost(input_usd, output_usd, input_usd + output_usd, True, "override")


class PriceBook:
    """Prices calls from overrides, then genai-prices; see the module docstring."""

    def __init__(self, overrides: Sequence[PriceOverride] = ()) -> None:
        self._overrides = {_key(o.provider, o.model): o for o in overrides}
        self._models: dict[tuple[str, str], _ModelRates | None] = {}

    def price(self, provider: str, model: str, tokens: TokenCounts) -> Cost:
        key = _key(provider, model)
        override = self._overrides.get(key) or self._overrides.get(("", key[1]))
        if override is not None:
            return override.cost(tokens)
        rates = self._rates(key)
        if rates is None:
            return _unknown()
        input_tokens = max(tokens.input_tokens, 0)
        cached = min(max(tokens.cached_input_tokens, 0), input_tokens)
        prices = rates.calc(input_tokens, cached, max(tokens.output_tokens, 0))
        if prices is None:
            return _unknown()
        input_price, output_price, total_price = prices
        return Cost(
            float(input_price), float(output_price), float(total_price), True, "genai-prices"
        )

    def _rates(self, key: tuple[str, str]) -> _ModelRates | None:
        if key in self._models:
            return self._models[key]
        provider, model = key
        try:
            found = calc_price(
                Usage(input_tokens=0, output_tokens=0),
                model_ref=model,
                provider_id=provider or None,
            )
        except LookupError:
            rates = None
        else:
            rates = _ModelRates(found.model)
        if len(self._models) < _MAX_CACHED_MODELS:
            self._models[key] = rates
        return rates


def _key(provider: str, model: str) -> tuple[str, str]:
    return provider.strip().lower(), model.strip().lower()


def _unknown() -> Cost:
    return Cost(0.0, 0.0, 0.0, known=False, source="none")


_Prices = tuple[Decimal, Decimal, Decimal]  # input, output, total


class _ModelRates:
    """A genai-prices model with the token rates of its current price set."""

    __slots__ = ("_model", "_plan", "_price")

    def __init__(self, model: ModelInfo) -> None:
        self._model = model
        self._price: ModelPrice | None = None
        self._plan: _Plan | None = None

    def calc(self, input_tokens: int, cached: int, output_tokens: int) -> _Prices | None:
        model = self._model
        # Conditional prices (e.g. a price change on a date) resolve at call time.
        price = (
            model.prices
            if isinstance(model.prices, ModelPrice)
            else model.get_prices(datetime.now(tz=UTC))
        )
        if price is not self._price:
            self._price, self._plan = price, _Plan.verified(price)
        if self._plan is not None:
            return self._plan.calc(input_tokens, cached, output_tokens)
        try:
            return _calc_generic(price, input_tokens, cached, output_tokens)
        except ValueError:  # usage genai-prices cannot price: unknown, not a guess
            return None


@dataclass(frozen=True, slots=True)
class _Plan:
    """The rates of a price set that apply to input, cached-input and output tokens."""

    input: Decimal | TieredPrices | None
    cache_read: Decimal | TieredPrices | None
    output: Decimal | TieredPrices | None
    requests: Decimal | TieredPrices | None  # per thousand requests; a call is one

    def calc(self, input_tokens: int, cached: int, output_tokens: int) -> _Prices:
        # genai-prices: cache reads are billed at their own rate when the model
        # has one (and are then taken out of the input), else as plain input.
        uncached = input_tokens - cached if self.cache_read is not None else input_tokens
        input_price = calc_unit_price(self.input, uncached, input_tokens, _PER_MTOK)
        input_price += calc_unit_price(self.cache_read, cached, input_tokens, _PER_MTOK)
        output_price = calc_unit_price(self.output, output_tokens, input_tokens, _PER_MTOK)
        total = input_price + output_price + calc_unit_price(self.requests, 1, input_tokens, 1000)
        return input_price, output_price, total

    @classmethod
    def verified(cls, price: ModelPrice) -> _Plan | None:
        """The plan of `price` if it reproduces `ModelPrice.calc_price` on all probes."""
        plan = cls(
            price.input_mtok, price.cache_read_mtok, price.output_mtok, price.requests_kcount
        )
        probes = [(0, 0, 0), (1, 1, 1), (1_000, 300, 200), (123_457, 4_321, 98_765)]
        for rate in (plan.input, plan.cache_read, plan.output, plan.requests):
            if isinstance(rate, TieredPrices):
                for tier in rate.tiers:
                    probes += [(tier.start + d, tier.start // 3, 7_777) for d in (-1, 0, 1, 2)]
        try:
            for input_tokens, cached, output_tokens in probes:
                if input_tokens >= 0 and plan.calc(input_tokens, cached, output_tokens) != (
                    _calc_generic(price, input_tokens, cached, output_tokens)
                ):
                    return None
        except (ValueError, ArithmeticError):
            return None
        return plan


def _calc_generic(price: ModelPrice, input_tokens: int, cached: int, output_tokens: int) -> _Prices:
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cached)
    result = price.calc_price(usage)
    return result["input_price"], result["output_price"], result["total_price"]


# --- overrides file --------------------------------------------------------------
_RATE_FIELDS = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok")
_FIELDS = ("provider", "model", *_RATE_FIELDS)
_REQUIRED = ("provider", "model", "input_per_mtok", "output_per_mtok")


def load_price_overrides(path: Path) -> list[PriceOverride]:
    """Read price overrides from YAML (`models:` list); ValueError on any bad entry."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
        raise ValueError(f"{path}: expected a mapping with a 'models' list")
    extra = sorted(str(k) for k in doc if k != "models")
    if extra:
        raise ValueError(f"{path}: unknown top-level keys {extra}; expected only 'models'")
    overrides: list[PriceOverride] = []
    seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(doc["models"]):
        override = _parse_entry(entry, f"{path}: models[{index}]")
        key = _key(override.provider, override.model)
        if key in seen:
            raise ValueError(
                f"{path}: models[{index}]: duplicate of models[{seen[key]}] "
                f"(provider {override.provider!r}, model {override.model!r})"
            )
        seen[key] = index
        overrides.append(override)
    return overrides


def _parse_entry(entry: object, where: str) -> PriceOverride:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a mapping with fields {list(_FIELDS)}")
    unknown = sorted(str(k) for k in entry if k not in _FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}; expected {list(_FIELDS)}")
    for name in _REQUIRED:
        if name not in entry:
            raise ValueError(f"{where}: missing field '{name}'")
    provider, model = entry["provider"], entry["model"]
    if not isinstance(provider, str):
        raise ValueError(f"{where}: field 'provider' must be a string (\"\" for any provider)")
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"{where}: field 'model' must be a non-empty string")
    rates = {
        name: _rate(entry[name], f"{where}: field '{name}'")
        for name in _RATE_FIELDS
        if entry.get(name) is not None or name in _REQUIRED
    }
    return PriceOverride(provider=provider, model=model, **rates)


def _rate(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: must be a number of USD per million tokens, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{where}: must be finite, got {value!r}")
    if value < 0:
        raise ValueError(f"{where}: must not be negative, got {value!r}")
    return float(value)
