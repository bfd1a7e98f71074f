"""`language_mismatch`: the answer is not in the language of the last user message:
Unicode script first, then stopwords for en/es/fr/de/pt/it/nl. Fenced code is ignored. No
judgment when either side is too short or ambiguous, or the system messages or the last
user message ask for a translation or a fixed answer language."""

from __future__ import annotations

import re
from collections import Counter

from vigil.judge.evaluators.base import VERSION, judged
from vigil.judge.model import JudgeInput, Judgment

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
            return judged(self, True, "ok", f"question and answer are both in {asked}")
        return judged(self, False, "mismatch", f"question in {asked}, answer in {answered}")
