"""The built-in evaluators (table-driven), the runner, and the JudgeInput they read."""

from __future__ import annotations

import random

import pytest

from tests.support.factories import valid_event
from vigil.core.prices import PriceBook
from vigil.enrich.stage import EnrichConfig, enrich_record
from vigil.judge.evaluators import (
    BUILTIN_EVALUATORS,
    EmptyAnswer,
    InvalidJson,
    LanguageMismatch,
    LengthOutlier,
    PiiLeak,
    Refusal,
    detect_language,
    make_evaluators,
    run_builtin,
)
from vigil.judge.model import JudgeInput, Judgment
from vigil_protos.v1 import events_pb2 as pb

HUGE = "All good here, nothing to report. " * 60_000  # ~2 MB


def item(completion: str = "Fine.", question: str = "How are you?", *,
         params: dict[str, object] | None = None, status: str = "ok",
         pii: dict[str, int] | None = None, system: str = "", app: str = "bot",
         model: str = "gpt-4o") -> JudgeInput:
    prompt = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": question}]
    return JudgeInput("trace", "event", "proj", app, model, prompt, completion, params or {},
                      status, pii or {})


def verdict(j: Judgment | None) -> str | None:
    """The label of a judgment (checking its score fits), None for no judgment."""
    if j is None:
        return None
    assert j.score == (1.0 if j.label == "ok" else 0.0), j
    assert j.error == "" and j.rationale and j.version == "1"
    return j.label


# --- empty answer ---------------------------------------------------------------------
@pytest.mark.parametrize(("completion", "status", "expected"), [
    ("", "ok", "empty"),
    ("   \n\t ", "ok", "empty"),
    ("\u200b\u200d\ufeff", "ok", "empty"),
    (" \u00a0\u3000", "ok", "empty"),  # non-breaking and ideographic spaces
    ("Fine.", "ok", "ok"),
    ("👍", "ok", "ok"),
    ("配送は明日です。", "ok", "ok"),
    (HUGE, "ok", "ok"),
    ("", "error", None),  # a failed call is its status, not an empty answer
])
def test_empty_answer(completion: str, status: str, expected: str | None) -> None:
    assert verdict(EmptyAnswer().evaluate(item(completion, status=status))) == expected


def test_an_answer_that_only_calls_a_tool_is_not_empty() -> None:
    event = valid_event(1)
    event.completion = ""
    event.completion_tool_calls.add(id="c1", name="get_weather", arguments='{"city": "Oslo"}')
    batch = pb.TraceBatch(project_id="p", events=[event])
    [record] = enrich_record(batch.SerializeToString(), 0, 0, EnrichConfig(PriceBook())).records
    judgment = EmptyAnswer().evaluate(JudgeInput.from_enriched(record))
    assert verdict(judgment) == "ok" and judgment is not None
    assert judgment.rationale == "the answer calls a tool"
    assert verdict(EmptyAnswer().evaluate(JudgeInput.from_enriched(
        {**record, "completion_tool_calls": "[]"}))) == "empty"


# --- refusal --------------------------------------------------------------------------
@pytest.mark.parametrize(("completion", "expected"), [
    ("I'm sorry, but I can't help with that.", "refusal"),
    ("I can’t help with that request.", "refusal"),  # noqa: RUF001 (typographic)
    ("I cannot assist with creating malware.", "refusal"),
    ("Sorry, I am unable to provide that information.", "refusal"),
    ("I must decline this request.", "refusal"),
    ("As an AI language model, I cannot browse the web.", "refusal"),
    ("I  CANNOT\nHELP with that.", "refusal"),  # case and spacing
    ("Lo siento, pero no puedo ayudarte con eso.", "refusal"),
    ("No puedo proporcionar esa información.", "refusal"),
    ("Désolé, mais je ne peux pas vous aider avec cela.", "refusal"),
    ("Je ne suis pas en mesure de répondre à cette question.", "refusal"),
    ("Es tut mir leid, aber ich kann Ihnen dabei nicht helfen.", "refusal"),
    ("Dabei kann ich Ihnen leider nicht helfen.", "refusal"),
    ("Desculpe, mas não posso ajudar com isso.", "refusal"),
    ("Mi dispiace, ma non posso aiutarti con questa richiesta.", "refusal"),
    ("Het spijt me, maar ik kan je daar niet mee helpen.", "refusal"),
    ("Ik kan je daar helaas niet mee helpen.", "refusal"),
    ("抱歉，我无法提供这些信息。", "refusal"),  # noqa: RUF001
    ("申し訳ありませんが、その質問にはお答えできません。", "refusal"),
    ("Извините, но я не могу помочь с этим.", "refusal"),  # noqa: RUF001
    ("죄송하지만 그 요청은 도와드릴 수 없습니다.", "refusal"),
    ("Sure! Reset your password from Settings > Security.", "ok"),
    ("I can help with that. First, open the billing page.", "ok"),
    ("You can't cancel after shipping, but I can help you return it.", "ok"),
    ("I can't wait to see what you build!", "ok"),
    ("Claro, puedo ayudarte con eso.", "ok"),
    ("x" * 500 + " I can't help with that.", "ok"),  # past the opening: content, not refusal
    (HUGE, "ok"),
    ("", None),
    ("  ", None),
])
def test_refusal(completion: str, expected: str | None) -> None:
    assert verdict(Refusal().evaluate(item(completion))) == expected


def test_refusal_rationale_quotes_the_phrase() -> None:
    j = Refusal().evaluate(item("I'm sorry, but I   cannot help with that."))
    assert j is not None and "i cannot help" in j.rationale


# --- invalid JSON ---------------------------------------------------------------------
JSON: dict[str, object] = {"response_format": "json_object"}
SCHEMA: dict[str, object] = {
    "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}


@pytest.mark.parametrize(("completion", "params", "expected"), [
    ('{"summary": "ok", "points": []}', JSON, "ok"),
    ('  {"a": 1}\n', JSON, "ok"),
    ('{"n": 123456789012345678901234567890}', JSON, "ok"),  # big ints are valid JSON
    ('{"ünïcödé": "日本語"}', SCHEMA, "ok"),
    ('{"a": 1', JSON, "invalid_json"),
    ("Here is the JSON: {\"a\": 1}", JSON, "invalid_json"),
    ("NaN", JSON, "invalid_json"),
    ("", JSON, "invalid_json"),
    ("[" * 100_000 + "]" * 100_000, JSON, "invalid_json"),  # too deep to parse
    ("[1, 2]", JSON, "not_object"),
    ('"text"', SCHEMA, "not_object"),
    ("null", JSON, "not_object"),
    ('```json\n{"a": 1}\n```', JSON, "fenced_json"),
    ("not json at all", {}, None),  # JSON not requested: no judgment
    ("not json at all", {"response_format": "text"}, None),
    ("not json at all", {"response_format": 3}, None),
])
def test_invalid_json(completion: str, params: dict[str, object], expected: str | None) -> None:
    assert verdict(InvalidJson().evaluate(item(completion, params=params))) == expected


def test_invalid_json_skips_failed_calls() -> None:
    assert InvalidJson().evaluate(item("", params=JSON, status="error")) is None


# --- PII leak -------------------------------------------------------------------------
@pytest.mark.parametrize(("completion", "pii", "expected"), [
    ("Sure, I sent it to [EMAIL].", {"email": 1}, "pii_leak"),
    ("Your card [CARD] was charged; call [PHONE].", {"card": 1, "phone": 2}, "pii_leak"),
    ("Use the key [SECRET] in the header.", {"secret": 1}, "pii_leak"),
    # a placeholder the model wrote, nothing of that kind masked: not a leak
    ("Dear [NAME], reply to [EMAIL] to confirm.", {"phone": 1}, "ok"),
    ("Reach Jane at jane.doe@example.com.", {}, "pii_leak"),  # masking was off
    ("Card 4111 1111 1111 1111 is on file.", {}, "pii_leak"),
    ("export OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx", {}, "pii_leak"),
    ("Your order ships tomorrow.", {"email": 3}, "ok"),
    ("Order 1234 5678 ships on 2024-05-01.", {}, "ok"),
    (HUGE, {}, "ok"),
    ("", {"email": 1}, None),
])
def test_pii_leak(completion: str, pii: dict[str, int], expected: str | None) -> None:
    assert verdict(PiiLeak().evaluate(item(completion, pii=pii))) == expected


def test_pii_leak_rationale_names_kinds_not_values() -> None:
    j = PiiLeak().evaluate(item("Mail jane.doe@example.com or bob@example.org", pii={}))
    assert j is not None and "2 email" in j.rationale and "jane" not in j.rationale


# --- language mismatch ----------------------------------------------------------------
EN_Q = "Hello, can you tell me what the status of my order is? I placed it last week."
EN_A = "Your order was shipped on Monday and it should arrive by the end of this week."
ES_Q = "Hola, ¿me puedes decir cuál es el estado de mi pedido? Lo hice la semana pasada."
ES_A = "Tu pedido fue enviado el lunes y debería llegar antes del fin de semana."
FR_A = "Votre commande a été expédiée lundi et elle devrait arriver avant la fin de la semaine."
DE_Q = "Hallo, können Sie mir sagen, wie der Status meiner Bestellung ist? Ich habe sie bestellt."
PT_A = "O seu pedido foi enviado na segunda e deve chegar até o fim da semana, obrigado."
IT_Q = "Ciao, mi puoi dire qual è lo stato del mio ordine? L'ho fatto la settimana scorsa."
NL_A = "Je bestelling is maandag verzonden en zou voor het einde van de week bij je zijn."
RU_Q = "Здравствуйте, подскажите, пожалуйста, какой статус у моего заказа?"  # noqa: RUF001
ZH_Q = "你好，请问我的订单现在是什么状态？我上周下的单。"  # noqa: RUF001
JA_A = "ご注文は月曜日に発送されました。今週末までに届く予定です。"


@pytest.mark.parametrize(("question", "answer", "system", "expected"), [
    (EN_Q, EN_A, "", "ok"),
    (ES_Q, ES_A, "", "ok"),
    (ES_Q, EN_A, "", "mismatch"),
    (EN_Q, FR_A, "", "mismatch"),
    (DE_Q, EN_A, "", "mismatch"),
    (IT_Q, PT_A, "", "mismatch"),
    (EN_Q, NL_A, "", "mismatch"),
    (RU_Q, EN_A, "", "mismatch"),  # scripts differ
    (ZH_Q, JA_A, "", "mismatch"),  # kana tell Japanese from Chinese
    (ZH_Q, "您的订单已于周一发货，预计本周末前送达。", "", "ok"),  # noqa: RUF001
    (EN_Q, "```python\nprint('hello world from the code block')\n```", "", None),  # code only
    ("ok?", EN_A, "", None),  # too short to tell
    (EN_Q, "Sí.", "", None),
    (EN_Q, "👍👍👍 🎉🎉🎉 ✅✅✅ 🙂🙂🙂", "", None),
    ("Translate into French: " + EN_A, FR_A, "", None),  # asked for another language
    (EN_Q, ES_A, "You are a support bot. Always answer in Spanish.", None),
    (EN_Q, "", "", None),
    (EN_Q + " " + HUGE, EN_A, "", "ok"),
])
def test_language_mismatch(question: str, answer: str, system: str,
                           expected: str | None) -> None:
    j = LanguageMismatch().evaluate(item(answer, question, system=system))
    assert verdict(j) == expected


@pytest.mark.parametrize(("text", "language"), [
    (EN_A, "en"), (ES_A, "es"), (FR_A, "fr"), (DE_Q, "de"), (PT_A, "pt"), (IT_Q, "it"),
    (NL_A, "nl"), (RU_Q, "cyrillic"), (ZH_Q, "zh"), (JA_A, "ja"),
    ("안녕하세요, 주문 상태를 알고 싶습니다.", "ko"),
    ("Καλημέρα, πού είναι η παραγγελία μου;", "el"),
    ("", None), ("ok", None), ("12345 67890 !!!", None),
])
def test_detect_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


# --- length outlier -------------------------------------------------------------------
def _sized(n: int, app: str = "bot", model: str = "gpt-4o") -> JudgeInput:
    return item("a" * n, app=app, model=model)


def test_length_outlier_warms_up_then_flags_both_tails() -> None:
    rng = random.Random(1)
    evaluator = LengthOutlier(min_samples=50)
    early = [evaluator.evaluate(_sized(rng.randint(300, 500))) for _ in range(50)]
    assert early == [None] * 50  # no baseline yet: no judgment
    later = [verdict(evaluator.evaluate(_sized(rng.randint(300, 500)))) for _ in range(200)]
    assert later == ["ok"] * 200
    long_one = evaluator.evaluate(_sized(40_000))
    assert verdict(long_one) == "too_long" and long_one is not None
    assert "bot/gpt-4o" in long_one.rationale
    assert verdict(evaluator.evaluate(_sized(3))) == "too_short"
    assert verdict(evaluator.evaluate(_sized(560))) == "ok"  # a bit long, within 5 MADs


def test_length_outlier_keeps_a_baseline_per_app_and_model() -> None:
    evaluator = LengthOutlier(min_samples=10, window=20)
    for _ in range(30):
        evaluator.evaluate(_sized(400))
    assert verdict(evaluator.evaluate(_sized(40_000))) == "too_long"
    assert evaluator.evaluate(_sized(40_000, model="other")) is None  # its own warm-up
    assert evaluator.evaluate(_sized(40_000, app="other")) is None


def test_length_outlier_constant_lengths_use_the_mad_floor() -> None:
    evaluator = LengthOutlier(min_samples=10)
    for _ in range(20):
        evaluator.evaluate(_sized(400))
    assert verdict(evaluator.evaluate(_sized(410))) == "ok"
    assert verdict(evaluator.evaluate(_sized(4_000))) == "too_long"


def test_length_outlier_memory_is_bounded() -> None:
    evaluator = LengthOutlier(window=30, min_samples=10, max_keys=3)
    for i in range(1_000):
        evaluator.evaluate(_sized(100 + i % 7, app=f"app-{i % 10}"))
    assert len(evaluator._windows) == 3
    assert all(len(w.values) <= 30 for w in evaluator._windows.values())


def test_length_outlier_adapts_to_a_new_normal() -> None:
    evaluator = LengthOutlier(window=100, min_samples=20, refresh_every=1)
    for _ in range(100):
        evaluator.evaluate(_sized(200))
    assert verdict(evaluator.evaluate(_sized(5_000))) == "too_long"
    for _ in range(100):
        evaluator.evaluate(_sized(5_000))
    assert verdict(evaluator.evaluate(_sized(5_000))) == "ok"


@pytest.mark.parametrize("bad", [{"min_samples": 0}, {"window": 10, "min_samples": 11}])
def test_length_outlier_rejects_bad_settings(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        LengthOutlier(**bad)


def test_length_outlier_ignores_empty_and_failed() -> None:
    evaluator = LengthOutlier()
    assert evaluator.evaluate(item("")) is None
    assert evaluator.evaluate(item("x", status="error")) is None


# --- runner ---------------------------------------------------------------------------
def test_make_evaluators_builds_fresh_instances_by_name() -> None:
    every = make_evaluators()
    assert [e.name for e in every] == [cls.name for cls in BUILTIN_EVALUATORS] == [
        "empty_answer", "refusal", "invalid_json", "pii_leak", "language_mismatch",
        "length_outlier"]
    assert make_evaluators()[5] is not every[5]
    assert [e.name for e in make_evaluators(["refusal", "pii_leak"])] == ["refusal", "pii_leak"]
    with pytest.raises(ValueError, match="refusl"):
        make_evaluators(["refusl"])


def test_run_builtin_returns_the_judgments_that_apply() -> None:
    evaluators = make_evaluators()
    judgments = run_builtin(item(ES_A, EN_Q, params=JSON, pii={"email": 1}), evaluators)
    by_name = {j.evaluator: j.label for j in judgments}
    assert by_name == {"empty_answer": "ok", "refusal": "ok", "invalid_json": "invalid_json",
                       "pii_leak": "ok", "language_mismatch": "mismatch"}
    assert run_builtin(item("", status="error"), evaluators) == []


@pytest.mark.parametrize("completion", [
    HUGE, "\x00" * 10_000, "[EMAIL]" * 100_000, "@" * 200_000, "1 " * 200_000, "+" * 200_000,
    "```" * 50_000, "é" * 300_000, "🙂" * 100_000, "\ud800 lone surrogate",
])
def test_every_builtin_handles_odd_and_huge_text(completion: str) -> None:
    judgments = run_builtin(item(completion, completion, params=JSON), make_evaluators())
    assert all(j.score in (0.0, 1.0) for j in judgments)


# --- the input model ------------------------------------------------------------------
def _enriched(event: pb.TraceEvent) -> dict[str, object]:
    batch = pb.TraceBatch(project_id="proj", events=[event])
    batch.received_at.GetCurrentTime()
    [record] = enrich_record(batch.SerializeToString(), 0, 0, EnrichConfig(PriceBook())).records
    return record


def test_from_enriched_reads_the_flat_record() -> None:
    event = valid_event(1, completion="Write to me at jane@example.com",
                        attributes={"context": "Orders ship in 2 days."})
    event.params.response_format = "json_object"
    event.prompt[1].name = "jane"
    item_ = JudgeInput.from_enriched(_enriched(event))
    assert (item_.trace_id, item_.event_id, item_.project_id) == (
        event.trace_id, event.event_id, "proj")
    assert (item_.app, item_.model, item_.status) == (event.app, event.model, "ok")
    assert item_.prompt == [{"role": "system", "content": "You are helpful."},
                            {"role": "user", "content": "Question number 1?", "name": "jane"}]
    assert item_.completion == "Write to me at [EMAIL]"
    assert item_.params == {"response_format": "json_object"}
    assert item_.pii_masked == {"email": 1}
    assert item_.context == "Orders ship in 2 days."
    assert item_.last_user_message() == "Question number 1?"
    assert verdict(PiiLeak().evaluate(item_)) == "pii_leak"


def test_from_enriched_accepts_decoded_and_missing_fields() -> None:
    item_ = JudgeInput.from_enriched({
        "trace_id": "t", "prompt": [{"role": "user", "content": None}], "params": {},
        "completion": None, "attributes": {},
    })
    assert item_.prompt == [{"role": "user", "content": ""}]
    assert (item_.completion, item_.status, item_.context, item_.pii_masked) == ("", "ok", "", {})


@pytest.mark.parametrize("record", [
    {"prompt": "not json"}, {"prompt": '{"role": "user"}'}, {"prompt": "[1]"},
    {"params": "[1, 2]"},
])
def test_from_enriched_rejects_unreadable_records(record: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        JudgeInput.from_enriched(record)


@pytest.mark.parametrize(("score", "error"), [(None, ""), (1.5, ""), (-0.1, ""),
                                              (float("nan"), ""), (0.5, "judge failed")])
def test_a_judgment_has_a_score_or_an_error(score: float | None, error: str) -> None:
    with pytest.raises(ValueError):
        Judgment("e", "1", score, error=error)
