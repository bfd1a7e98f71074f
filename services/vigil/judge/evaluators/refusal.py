"""`refusal`: the start of the completion refuses (common phrases in English, Spanish,
French, German, Portuguese, Italian, Dutch, and a few in Chinese, Japanese, Korean and
Russian)."""

from __future__ import annotations

import re

from vigil.judge.evaluators.base import VERSION, judged
from vigil.judge.model import JudgeInput, Judgment

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
            return judged(self, True, "ok", "no refusal phrase at the start of the answer")
        phrase = " ".join(match[0].split())
        return judged(self, False, "refusal", f"the answer refuses: “{phrase}”")
