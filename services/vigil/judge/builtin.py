"""Built-in evaluators: offline heuristics, no network, microseconds per trace.

Contract: an evaluator has a `name`, a `version` and `evaluate(item) ->
Judgment | None`. A judgment scores 1.0 (good) or 0.0 (bad) with a short
label and a one-line rationale. `None` means "no judgment for this trace":
the evaluator does not apply (JSON was not requested, the trace is an
error, there is no completion) or cannot tell (the text is too short to
know its language, the length baseline is still warming up). The runner
simply leaves it out; no evaluator ever makes up a score it cannot back
(no "not_applicable" judgments). Returning None, rather than a separate
`applies()`, lets an evaluator that must look at the text to know (the
language one) do so once, and lets a stateful one record a sample while it
judges nothing. Builtins cost nothing and leave `latency_ms` at 0.

- `empty_answer`: the completion is blank (whitespace and zero-width characters only).
- `refusal`: the start of the completion refuses (common phrases in English,
  Spanish, French, German, Portuguese, Italian, Dutch, and a few in Chinese,
  Japanese, Korean and Russian).
- `invalid_json`: JSON was requested (params `response_format` json_object or
  json_schema, as a string or `{"type": ...}`) and the completion is not a
  JSON object (labels `invalid_json`, `not_object`, `fenced_json`).
- `pii_leak`: the completion holds PII: a mask token `[EMAIL]`, `[PHONE]`,
  `[CARD]` or `[SECRET]` of a kind enrich says it masked (a placeholder the
  model wrote itself, with nothing of that kind masked, is not a leak), or
  PII that `mask_pii` still finds (masking was off).
- `language_mismatch`: the answer is not in the language of the last user
  message: Unicode script first, then stopwords for en/es/fr/de/pt/it/nl.
  Fenced code is ignored. No judgment when either side is too short or
  ambiguous, or the system messages or the last user message ask for a
  translation or a fixed answer language.
- `length_outlier`: per (app, model), the completion length (log of
  characters) is more than `k` MADs from the median of the last `window`
  lengths, once `min_samples` were seen (defaults 500, 50, k=5; a MAD floor of
  0.1 for apps whose answers all have one length; median and MAD refreshed
  every 16 samples). A trace is judged against the window before its own
  length joins it. Stateful and not thread-safe: one
  instance per worker. Memory is bounded (window per key, at most `max_keys`
  keys, least recently used dropped).

`BUILTIN_EVALUATORS` are the classes; `make_evaluators(names)` builds fresh
instances (the length baseline is per instance); `run_builtin(item,
evaluators)` returns the judgments of those that apply.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Sequence
from typing import Protocol

import orjson

from vigil.core.pii import mask_pii
from vigil.judge.model import JudgeInput, Judgment

VERSION = "1"


class Evaluator(Protocol):
    name: str
    version: str

    def evaluate(self, item: JudgeInput) -> Judgment | None: ...


def _judgment(evaluator: Evaluator, good: bool, label: str, rationale: str) -> Judgment:
    return Judgment(evaluator.name, evaluator.version, 1.0 if good else 0.0, label, rationale)


# --- empty answer --------------------------------------------------------------------
_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\u2060\ufeff\u00ad")


class EmptyAnswer:
    name: str = "empty_answer"
    version: str = VERSION

    def evaluate(self, item: JudgeInput) -> Judgment | None:
        if item.status != "ok":
            return None  # a failed call is reported by its status, not as an empty answer
        text = item.completion
        if text.strip() and (text.isascii() or text.translate(_INVISIBLE).strip()):
            return _judgment(self, True, "ok", "the answer has content")
        return _judgment(self, False, "empty", "the answer is blank")


# --- refusal -----------------------------------------------------------------------
_REFUSAL_WINDOW = 400  # refusals come first; later "I can't ..." is usually content
_HELP_VERBS = (r"(?:help|assist|provide|comply|fulfil+|share|answer|do that|support|generate"
               r"|create|write|give|discuss)")
_REFUSALS = [
    # English
    rf"\bi (?:can't|cannot|can not|won't|will not) {_HELP_VERBS}",
    rf"\bi(?:'m| am) (?:unable|not able|not allowed|not permitted) to {_HELP_VERBS}",
    r"\bi (?:must|have to) (?:decline|refuse)",
    r"\bas an ai(?: language model)?,? i (?:can't|cannot|don't|am not|won't)",
    # Spanish
    r"\bno puedo (?:ayudar|asistir|proporcionar|ofrecer|compartir|responder|hacer eso|cumplir)",
    r"\blo siento,? pero no (?:puedo|es posible)",
    r"\bno me es posible\b",
    r"\bno estoy en condiciones de\b",
    # French
    r"\bje ne peux pas (?:vous |t'|te )?(?:aider|assister|fournir|répondre|partager|faire ça"
    r"|faire cela|accéder)",
    r"\bje ne suis pas en mesure de\b",
    r"\bdésolée?,? mais je ne (?:peux|suis)",
    r"\bje dois refuser\b",
    # German
    r"\bich kann (?:(?:ihnen|dir|euch|dabei|damit|hierbei|leider) ){0,3}(?:nicht|keine) "
    r"(?:helfen|behilflich|unterstützen|beantworten|bereitstellen|geben|auskunft|weiterhelfen)",
    r"\bkann ich (?:(?:ihnen|dir|euch|dabei|damit|leider) ){0,3}nicht "
    r"(?:helfen|behilflich|weiterhelfen)",
    r"\bes tut mir leid,? aber ich (?:kann|darf)",
    r"\bich darf (?:ihnen |dir )?(?:leider )?(?:nicht|keine)",
    # Portuguese
    r"\bnão posso (?:te |lhe )?(?:ajudar|auxiliar|fornecer|compartilhar|responder|fazer isso"
    r"|atender)",
    r"\bdesculpe,? mas não (?:posso|consigo)",
    r"\blamento,? mas não (?:posso|consigo)",
    r"\bsinto muito,? mas não (?:posso|consigo)",
    r"\bnão sou capaz de\b",
    # Italian
    r"\bnon posso (?:aiutar|assister|fornir|risponder|condivider|far(?:e|lo))",
    r"\bmi dispiace,? ma non (?:posso|sono in grado)",
    r"\bnon sono in grado di\b",
    # Dutch
    r"\bik kan (?:(?:je|u|jou|daar|hier|helaas|hierbij|daarbij) ){0,4}(?:niet|geen) (?:mee )?"
    r"(?:helpen|assisteren|verstrekken|geven|beantwoorden)",
    r"\bhet spijt me,? maar ik (?:kan|mag)",
    # a few outside the stopword languages
    r"我(?:无法|不能)(?:帮助|协助|提供|回答)",
    r"抱歉.{0,10}?(?:无法|不能)",
    r"お手伝いできません",
    r"申し訳ありませんが.{0,30}?できません",
    r"я не могу (?:помочь|предоставить|ответить|выполнить)",
    r"извините,? но я не могу",
    r"도와드릴 수 없습니다",
    r"죄송하지만.{0,30}?수 없습니다",
]


def _fast_alternation(patterns: list[str]) -> re.Pattern[str]:
    """One regex of the alternatives, spaces matching any whitespace run. A leading word
    boundary becomes a lookbehind after the first letter: a pattern whose branches all start
    with a literal lets the regex engine skip to candidate positions (~7x faster)."""
    branches = []
    for p in patterns:
        if p.startswith(r"\b"):
            first, rest = p[2], p[3:]
            assert first.isalpha(), p
            p = f"{first}(?<!\\w{first}){rest}"
        branches.append(p.replace(" ", r"\s+"))
    return re.compile("|".join(branches))


_REFUSAL = _fast_alternation(_REFUSALS)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'"})


class Refusal:
    name: str = "refusal"
    version: str = VERSION

    def evaluate(self, item: JudgeInput) -> Judgment | None:
        if item.status != "ok" or not item.completion.strip():
            return None
        head = item.completion[:_REFUSAL_WINDOW].lower().translate(_APOSTROPHES)
        match = _REFUSAL.search(head)
        if match is None:
            return _judgment(self, True, "ok", "no refusal phrase at the start of the answer")
        phrase = " ".join(match[0].split())
        return _judgment(self, False, "refusal", f"the answer refuses: “{phrase}”")


# --- invalid JSON --------------------------------------------------------------------
_JSON_FORMATS = frozenset({"json_object", "json_schema"})
_FENCE = re.compile(r"\A```[A-Za-z]*[ \t]*\r?\n(.*?)\r?\n?```\Z", re.DOTALL)


def requested_json(params: dict[str, object]) -> bool:
    """True when the call asked for JSON output (`response_format` json_object/json_schema)."""
    fmt = params.get("response_format")
    if isinstance(fmt, dict):
        fmt = fmt.get("type")
    return isinstance(fmt, str) and fmt.strip().lower() in _JSON_FORMATS


class InvalidJson:
    name: str = "invalid_json"
    version: str = VERSION

    def evaluate(self, item: JudgeInput) -> Judgment | None:
        if item.status != "ok" or not requested_json(item.params):
            return None
        text = item.completion.strip()
        if not text:
            return _judgment(self, False, "invalid_json", "JSON was requested, the answer is empty")
        ok, value, reason = _parse_json(text)
        if not ok:
            fenced = _FENCE.match(text)
            if fenced is not None and _parse_json(fenced[1].strip())[0]:
                return _judgment(self, False, "fenced_json",
                                 "valid JSON, but wrapped in a markdown code fence")
            return _judgment(self, False, "invalid_json", f"not valid JSON: {reason}")
        if not isinstance(value, dict):
            kind = type(value).__name__ if value is not None else "null"
            return _judgment(self, False, "not_object", f"valid JSON, but a {kind}, not an object")
        return _judgment(self, True, "ok", "a valid JSON object")


def _parse_json(text: str) -> tuple[bool, object, str]:
    try:
        return True, orjson.loads(text), ""
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
    try:  # orjson refuses integers beyond 64 bits, which JSON allows
        return True, json.loads(text, parse_constant=_reject_constant), ""
    except (ValueError, RecursionError):
        return False, None, reason[:120]


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


# --- PII leak ----------------------------------------------------------------------
_MASK_TOKENS = (("email", "[EMAIL]"), ("phone", "[PHONE]"), ("card", "[CARD]"),
                ("secret", "[SECRET]"))


class PiiLeak:
    name: str = "pii_leak"
    version: str = VERSION

    def evaluate(self, item: JudgeInput) -> Judgment | None:
        text = item.completion
        if not text:
            return None
        found: dict[str, int] = {}
        if "[" in text:
            for kind, token in _MASK_TOKENS:
                if item.pii_masked.get(kind) and token in text:
                    found[kind] = text.count(token)
        how = "masked by enrich"
        if not found:
            _, found = mask_pii(text)
            how = "not masked"
        if not found:
            return _judgment(self, True, "ok", "no PII in the answer")
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(found.items()))
        return _judgment(self, False, "pii_leak", f"the answer contains PII: {kinds} ({how})")


# --- language mismatch -------------------------------------------------------------
_DETECT_CHARS = 1500  # a language does not change after the first lines
_MIN_WEIGHT = 12  # letters (a CJK character weighs 3) below which we cannot tell
_MIN_WORDS, _MIN_HITS, _MIN_DOMINANCE = 4, 3, 0.6
_STOPWORDS = {
    "en": "the and is are was were of to you your that this with for have has it not be can "
          "what which will would there they from how but or if my we our an on at do does i",
    "es": "el los las del que es por para con una su sus pero como más está están muy también "
          "puede hola gracias tengo mi qué cómo cuál hay sí ser son fue al lo le y se usted",
    "fr": "le les des est et une du dans pour pas sur avec vous nous je il elle sont ce cette "
          "qui au aux mais ou très être avez votre merci bonjour comment où ne sa ses peut",
    "de": "der die das und ist nicht ein eine einen dem den des mit für auf ich sie es wir zu "
          "von wie auch sind war haben hat bitte danke kann können wird werden über oder aber",
    "pt": "o os as do da dos não é em um uma para com por mais está você obrigado olá como "
          "seu sua meu minha também são foi tem isso este esta pelo pela ao muito",
    "it": "il lo gli della di che è non per una un con sono mi ti si ma come anche questo "
          "questa ciao grazie più ho ha hai nel nella alla dei delle molto essere perché cosa",
    "nl": "de het een en van ik je is dat niet op te zijn met voor ook maar wat hoe bij naar "
          "er dit deze kan wordt heb heeft jij u uw mijn dank hallo graag nog wel geen",
}


def _languages_of_words() -> dict[str, tuple[str, ...]]:
    langs: dict[str, tuple[str, ...]] = {}
    for lang, words in _STOPWORDS.items():
        for word in words.split():
            langs[word] = (*langs.get(word, ()), lang)
    return langs


_WORD_LANGS = _languages_of_words()
_WORD = re.compile(r"[^\W\d_]+")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_OTHER_SCRIPTS: dict[str, tuple[re.Pattern[str], int]] = {
    "greek": (re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]"), 1),
    "cyrillic": (re.compile(r"[\u0400-\u04ff]"), 1),
    "hebrew": (re.compile(r"[\u0590-\u05ff]"), 1),
    "arabic": (re.compile(r"[\u0600-\u06ff\u0750-\u077f]"), 1),
    "devanagari": (re.compile(r"[\u0900-\u097f]"), 1),
    "thai": (re.compile(r"[\u0e00-\u0e7f]"), 1),
    "hangul": (re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]"), 3),
    "kana": (re.compile(r"[\u3040-\u30ff]"), 3),
    "han": (re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]"), 3),
}
_NON_LATIN = re.compile(r"[^\x00-\u024f\u1e00-\u1eff]+")
_FIXED_LANGUAGE = re.compile(
    r"translat|tradu[cizç]|übersetz|vertaal|翻译|翻訳|перев[\u043e\u0435\u0456]д"
    r"|(?:answer|respond|reply|write|responde|réponds|antworte|rispondi|responda|antwoord)"
    r"\w*\s+(?:only\s+)?(?:in|en|auf|em|op)\s+(?:english|spanish|french|german|portuguese"
    r"|italian|dutch|chinese|japanese|korean|russian|inglés|español|francés|alemán"
    r"|anglais|français|allemand|englisch|deutsch|französisch|inglês|português|inglese"
    r"|italiano|engels|nederlands)"
)


def detect_language(text: str) -> str | None:
    """The language of `text` ("en", "es", ..., or a script such as "cyrillic", "zh",
    "ja", "ko"), or None when the text is too short or too mixed to tell."""
    if "```" in text:
        text = "".join(text.split("```")[::2])  # drop fenced code: its keywords are not prose
    sample = text[:_DETECT_CHARS]
    if sample.isascii():  # Latin only (needing 3 stopwords implies enough letters)
        return _latin_language(sample.lower())
    weights = {"latin": len(_LATIN.findall(sample))}
    other = "".join(_NON_LATIN.findall(sample))
    for script, (pattern, weight) in _OTHER_SCRIPTS.items():
        if n := len(pattern.findall(other)):
            weights[script] = n * weight
    if "kana" in weights or "han" in weights:  # kana mixed into Han: Japanese
        kana, han = weights.pop("kana", 0), weights.pop("han", 0)
        weights["ja" if kana * 10 >= kana + han else "zh"] = kana + han
    total = sum(weights.values())
    script = max(weights, key=weights.__getitem__)
    if total < _MIN_WEIGHT or weights[script] < _MIN_DOMINANCE * total:
        return None
    if script != "latin":
        return {"hangul": "ko", "greek": "el", "hebrew": "he", "thai": "th"}.get(script, script)
    return _latin_language(sample.lower())


def _latin_language(lowered: str) -> str | None:
    words = Counter(_WORD.findall(lowered))
    if words.total() < _MIN_WORDS:
        return None
    hits = dict.fromkeys(_STOPWORDS, 0)
    for word in words.keys() & _WORD_LANGS.keys():
        for lang in _WORD_LANGS[word]:
            hits[lang] += words[word]
    ranked = sorted(hits.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < _MIN_HITS or top < 1.5 * second:
        return None
    return best


def _instructions(item: JudgeInput) -> str:
    """Where a translation or an answer language is asked for: the system messages and the
    last user message (2,000 characters of each at most)."""
    texts = [m.get("content", "")[:2000] for m in item.prompt if m.get("role") == "system"]
    return "\n".join([*texts, item.last_user_message()[:2000]])


class LanguageMismatch:
    name: str = "language_mismatch"
    version: str = VERSION

    def evaluate(self, item: JudgeInput) -> Judgment | None:
        question = item.last_user_message()
        if item.status != "ok" or not question or not item.completion:
            return None
        if _FIXED_LANGUAGE.search(_instructions(item).lower()):
            return None
        asked, answered = detect_language(question), detect_language(item.completion)
        if asked is None or answered is None:
            return None
        if asked == answered:
            return _judgment(self, True, "ok", f"question and answer are both in {asked}")
        return _judgment(self, False, "mismatch", f"question in {asked}, answer in {answered}")


# --- length outlier ----------------------------------------------------------------
class _Window:
    __slots__ = ("mad", "median", "stale", "values")

    def __init__(self, size: int) -> None:
        self.values: deque[float] = deque(maxlen=size)
        self.median = self.mad = 0.0
        self.stale = -1  # samples added since the statistics were computed; -1: never


class LengthOutlier:
    """Robust per-(app, model) baseline of log completion lengths; see the module docstring."""

    name: str = "length_outlier"
    version: str = VERSION

    def __init__(self, window: int = 500, min_samples: int = 50, k: float = 5.0,
                 min_mad: float = 0.1, refresh_every: int = 16, max_keys: int = 2048) -> None:
        if not 0 < min_samples <= window:
            raise ValueError("need 0 < min_samples <= window")
        self.window, self.min_samples, self.k = window, min_samples, k
        self.min_mad, self.refresh_every, self.max_keys = min_mad, refresh_every, max_keys
        self._windows: OrderedDict[tuple[str, str], _Window] = OrderedDict()

    def evaluate(self, item: JudgeInput) -> Judgment | None:
        if item.status != "ok" or not item.completion.strip():
            return None  # empty answers are empty_answer's business
        size = len(item.completion)
        x = math.log1p(size)
        window = self._window((item.app, item.model))
        judgment = None
        if len(window.values) >= self.min_samples:
            if window.stale < 0 or window.stale >= self.refresh_every:
                window.median, window.mad = _median_mad(window.values)
                window.stale = 0
            deviation = (x - window.median) / max(window.mad, self.min_mad)
            typical = round(math.expm1(window.median))
            if abs(deviation) <= self.k:
                judgment = _judgment(self, True, "ok", f"{size} chars, typical {typical}")
            else:
                label = "too_long" if deviation > 0 else "too_short"
                judgment = _judgment(
                    self, False, label,
                    f"{size} chars is {abs(deviation):.1f} MADs from the typical {typical} chars "
                    f"(log scale) for {item.app}/{item.model}")
        window.values.append(x)
        if window.stale >= 0:
            window.stale += 1
        return judgment

    def _window(self, key: tuple[str, str]) -> _Window:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(self.window)
            if len(self._windows) > self.max_keys:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(key)
        return window


def _median_mad(values: Iterable[float]) -> tuple[float, float]:
    ordered = sorted(values)
    median = _median_sorted(ordered)
    return median, _median_sorted(sorted(abs(v - median) for v in ordered))


def _median_sorted(ordered: Sequence[float]) -> float:
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# --- runner ------------------------------------------------------------------------
BUILTIN_EVALUATORS: tuple[type[Evaluator], ...] = (
    EmptyAnswer, Refusal, InvalidJson, PiiLeak, LanguageMismatch, LengthOutlier,
)
_BY_NAME = {cls.name: cls for cls in BUILTIN_EVALUATORS}


def make_evaluators(names: Iterable[str] | None = None) -> list[Evaluator]:
    """Fresh instances of the named builtins (all when None), in the given order.

    Raises ValueError naming an unknown evaluator (a typo must not disable one)."""
    chosen = list(_BY_NAME) if names is None else list(names)
    unknown = [n for n in chosen if n not in _BY_NAME]
    if unknown:
        raise ValueError(f"unknown evaluators {unknown}; known: {sorted(_BY_NAME)}")
    return [_BY_NAME[n]() for n in chosen]


def run_builtin(item: JudgeInput, evaluators: Sequence[Evaluator]) -> list[Judgment]:
    """The judgments of the evaluators that apply to `item`, in evaluator order."""
    return [j for e in evaluators if (j := e.evaluate(item)) is not None]


__all__ = [
    "BUILTIN_EVALUATORS", "EmptyAnswer", "Evaluator", "InvalidJson", "LanguageMismatch",
    "LengthOutlier", "PiiLeak", "Refusal", "detect_language", "make_evaluators",
    "requested_json", "run_builtin",
]
