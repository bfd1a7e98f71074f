"""PII masking: replace emails, phone numbers, card numbers and secrets in free text.

Contract: `mask_pii(text, kinds)` is a pure function returning the masked text
and, per kind, how many spans it replaced (kinds with no match are absent).
Spans become `[EMAIL]`, `[PHONE]`, `[CARD]` or `[SECRET]`; for `name=value`
secrets and `Bearer <token>` only the value is replaced, the name is kept.
An unknown kind is a ValueError (a typo must not silently disable masking).

Kinds run in a fixed order, each on the output of the one before, so a span
is counted once: secrets, emails, cards (13-19 ASCII digits, contiguous or
in groups split by single spaces or dashes, masked only when the Luhn check
passes), then phone numbers (international with a leading `+`, or North
American forms such as `(202) 555-0143`, `202-555-0143`, `202.555.0143`).
Other national formats without a `+` are not recognised.

Every pattern runs in linear time: quantifiers are bounded or cannot overlap,
and each pattern starts with a literal or a character class (the "not inside
a longer word" check is a lookbehind placed after it) so the regex engine
skips ahead quickly. A pattern whose trigger cannot occur (no `@`, too few
digits, no `+`, ...) is not run at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate

PII_KINDS = ("email", "phone", "card", "secret")

_ALL_KINDS = frozenset(PII_KINDS)


def mask_pii(
    text: str, kinds: frozenset[str] | set[str] = _ALL_KINDS
) -> tuple[str, dict[str, int]]:
    """Mask the PII of the given kinds in `text`; returns (masked text, count per kind)."""
    unknown = kinds - _ALL_KINDS
    if unknown:
        raise ValueError(f"unknown PII kinds {sorted(unknown)}; known: {list(PII_KINDS)}")
    counts: dict[str, int] = {}
    if not text:
        return text, counts
    for kind, masker in _MASKERS:
        if kind in kinds:
            text, n = masker(text)
            if n:
                counts[kind] = n
    return text, counts


def luhn_valid(digits: str) -> bool:
    """True when `digits` is a non-empty string of ASCII digits passing the Luhn checksum."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    kept, doubled = digits[-1::-2], digits[-2::-2].translate(_LUHN_DOUBLED)
    return (sum(map(int, kept)) + sum(map(int, doubled))) % 10 == 0


_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")  # digit sum of 2 * d


# --- secrets -------------------------------------------------------------------
_SECRET = "[SECRET]"
_TOKEN = re.compile(
    r"""
      sk-(?<![\w-]sk-)[A-Za-z0-9_-]{20,}                    # OpenAI, Anthropic (sk-proj-, sk-ant-)
    | AKIA(?<![A-Za-z0-9]AKIA)[A-Z0-9]{16}(?![A-Za-z0-9])   # AWS access key id
    | ASIA(?<![A-Za-z0-9]ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])   # AWS temporary access key id
    | gh(?<!\wgh)[pousr]_[A-Za-z0-9]{20,}                   # GitHub ghp_, gho_, ghs_, ...
    | github_pat_(?<!\wgithub_pat_)[A-Za-z0-9_]{20,}        # GitHub fine-grained token
    | xox(?<![\w-]xox)[abprs]-[A-Za-z0-9-]{10,}             # Slack xoxb-, xoxp-, ...
    | AIza(?<![\w-]AIza)[A-Za-z0-9_-]{35}(?![\w-])          # Google API key
    | eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*  # JWT
    """,
    re.VERBOSE,
)
_BEARER = re.compile(r"[Bb]earer(?<![\w-][Bb]earer)[ \t]+([A-Za-z0-9._~+/=-]{8,})")
# `<name>=<value>` where the name ends with a secret-ish key: `password=`,
# `DB_PASSWORD: `, `"api_key": "..."`, `X-Api-Key: `, `access_token=`; not `tokens: 5`.
_KEYS = r"(?:passw(?:or)?d|pwd|secret|api[_-]?key|token)"
_ASSIGNMENT_HINT = re.compile(_KEYS + r"[\"']?[ \t]*[:=]")  # run on lower-cased text
_ASSIGNMENT = re.compile(
    _KEYS
    + r"""(?P<sep>["']?[ \t]*[:=][ \t]*(?:(?:bearer|basic)[ \t]+)?)
    (?: "(?!\[secret\]")(?P<dq>[^"\r\n]{1,512})"
      | '(?!\[secret\]')(?P<sq>[^'\r\n]{1,512})'
      | (?P<bare>[^\s"'`,;&<>()\[\]{}]+)
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def _mask_secrets(text: str) -> tuple[str, int]:
    text, assignments = _mask_assignments(text)
    text, tokens = _TOKEN.subn(_SECRET, text)
    bearers = 0

    def bearer(m: re.Match[str]) -> str:
        nonlocal bearers
        # A token has a digit or a symbol, or is long: "Bearer authentication" is prose.
        if len(m[1]) < 24 and m[1].isalpha():
            return m[0]
        bearers += 1
        return m.string[m.start() : m.start(1)] + _SECRET

    if "earer" in text:
        text = _BEARER.sub(bearer, text)
    return text, assignments + tokens + bearers


def _mask_assignments(text: str) -> tuple[str, int]:
    # A case-insensitive scan is ~5x slower than a case-sensitive one on the
    # lower-cased copy, so find candidates there and match only at those spots.
    lowered = text.lower()
    hints = [m.start() for m in _ASSIGNMENT_HINT.finditer(lowered)]
    if not hints:
        return text, 0
    if len(lowered) != len(text):  # lower() changed offsets (rare): scan the original
        return _ASSIGNMENT.subn(_assignment_replacement, text)
    out: list[str] = []
    last = 0
    for pos in hints:
        m = _ASSIGNMENT.match(text, pos) if pos >= last else None
        if m is not None:
            out += (text[last:pos], _assignment_replacement(m))
            last = m.end()
    if not out:
        return text, 0
    out.append(text[last:])
    return "".join(out), (len(out) - 1) // 2


def _assignment_replacement(m: re.Match[str]) -> str:
    head = m.string[m.start() : m.end("sep")]
    if m["dq"] is not None:
        return f'{head}"{_SECRET}"'
    if m["sq"] is not None:
        return f"{head}'{_SECRET}'"
    return head + _SECRET


# --- emails --------------------------------------------------------------------
# Matched from each "@": the domain by regex, the local part by a bounded
# backward scan (a regex trying every word character as a start is slow).
_EMAIL_DOMAIN = re.compile(r"@(?:[^\W_][\w-]{0,62}\.){1,126}[^\W\d_]{2,63}(?![\w-])")
_LOCAL_SYMBOLS = frozenset("._+%-")
_MAX_LOCAL = 64


def _mask_emails(text: str) -> tuple[str, int]:
    if "@" not in text:
        return text, 0
    out: list[str] = []
    last = 0
    for m in _EMAIL_DOMAIN.finditer(text):
        at = m.start()
        start = at
        while start > last and at - start < _MAX_LOCAL and _is_local(text[start - 1]):
            start -= 1
        if at - start == _MAX_LOCAL and start > last and _is_local(text[start - 1]):
            continue  # a local part longer than 64 characters: not an address
        while start < at and text[start] == ".":
            start += 1
        if start < at:
            out += (text[last:start], "[EMAIL]")
            last = m.end()
    if not out:
        return text, 0
    out.append(text[last:])
    return "".join(out), (len(out) - 1) // 2


def _is_local(ch: str) -> bool:
    return ch.isalnum() or ch in _LOCAL_SYMBOLS


# --- cards ---------------------------------------------------------------------
_MIN_CARD_DIGITS, _MAX_CARD_DIGITS = 13, 19
# Contiguous, or 3-6 groups of 3-6 digits with one kind of separator, not
# glued to other digits. A candidate is masked where it, or a run of its
# groups, passes Luhn: "4242 4242 4242 4242 123" (card and CVV) masks the card
# and "0143 4111 1111 1111 1111" (a number, then a card) masks the card.
_CARD = re.compile(
    r"""[0-9](?<![0-9][0-9])
    (?: [0-9]{12,18}
      | [0-9]{2,5}(?P<sep>[ -])[0-9]{3,6}(?:(?P=sep)[0-9]{3,6}){1,4}
    )(?![0-9])""",
    re.VERBOSE,
)


def _mask_cards(text: str) -> tuple[str, int]:
    if _ascii_digits(text) < _MIN_CARD_DIGITS:
        return text, 0
    n = 0

    def card(m: re.Match[str]) -> str:
        nonlocal n
        sep = m["sep"] or ""
        groups = m[0].split(sep) if sep else [m[0]]
        span = _luhn_span(groups)
        if span is None:
            return m[0]
        n += 1
        i, j = span
        return sep.join([*groups[:i], "[CARD]", *groups[j:]])

    return _CARD.sub(card, text), n


def _luhn_span(groups: list[str]) -> tuple[int, int] | None:
    """The longest, then leftmost, run of groups with 13-19 digits that passes Luhn."""
    digits = "".join(groups)
    ends = [0, *accumulate(map(len, groups))]
    for size in range(len(groups), 0, -1):
        for i in range(len(groups) - size + 1):
            start, end = ends[i], ends[i + size]
            if _MIN_CARD_DIGITS <= end - start <= _MAX_CARD_DIGITS and luhn_valid(
                digits[start:end]
            ):
                return i, i + size
    return None


def _ascii_digits(text: str) -> int:
    data = text.encode("utf-8", "surrogatepass")
    return len(data) - len(data.translate(None, b"0123456789"))


# --- phones --------------------------------------------------------------------
_MIN_PHONE_DIGITS, _MAX_PHONE_DIGITS = 8, 15  # E.164 allows at most 15
_INTL_PHONE = re.compile(
    r"""\+(?<![\w+]\+)[0-9]{1,3}
    (?: (?:[ .-]?\([0-9]{1,4}\)[ .-]?[0-9]{1,12} | [ .-][0-9]{1,12}){1,6}  # +44 20 7946 0958
      | [0-9]{5,14}                                                      # +12025550143
    )(?![0-9])""",
    re.VERBOSE,
)
_NANP_PHONE = re.compile(
    r"""[0-9(](?<![\w.+/(-][0-9(])
    (?: (?<=\()[0-9]{3}\)[ ]?[0-9]{3}[ .-][0-9]{4}      # (202) 555-0143
      | (?<=[0-9])[0-9]{2}-[0-9]{3}-[0-9]{4}            # 202-555-0143
      | (?<=[0-9])[0-9]{2}\.[0-9]{3}\.[0-9]{4}          # 202.555.0143
      | (?<=[2-9])[0-9]{2}[ ][2-9][0-9]{2}[ ][0-9]{4}   # 202 555 0143 (valid area, exchange)
      | (?<=1)(?: [ .-]?\([0-9]{3}\)[ ]?[0-9]{3}[ .-][0-9]{4}   # 1 (800) 555-0199
                | -[0-9]{3}-[0-9]{3}-[0-9]{4}                   # 1-800-555-0199
                | \.[0-9]{3}\.[0-9]{3}\.[0-9]{4})
    )(?!\w|[.-][0-9])""",
    re.VERBOSE,
)


def _mask_phones(text: str) -> tuple[str, int]:
    if _ascii_digits(text) < _MIN_PHONE_DIGITS:
        return text, 0
    intl = 0

    def international(m: re.Match[str]) -> str:
        nonlocal intl
        digits = sum(ch.isdigit() for ch in m[0])
        if not _MIN_PHONE_DIGITS <= digits <= _MAX_PHONE_DIGITS:
            return m[0]
        intl += 1
        return "[PHONE]"

    if "+" in text:
        text = _INTL_PHONE.sub(international, text)
    text, nanp = _NANP_PHONE.subn("[PHONE]", text)
    return text, intl + nanp


_MASKERS: tuple[tuple[str, Callable[[str], tuple[str, int]]], ...] = (
    ("secret", _mask_secrets),
    ("email", _mask_emails),
    ("card", _mask_cards),
    ("phone", _mask_phones),
)
