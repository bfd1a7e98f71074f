"""The judge stage: scores a sample of enriched traces.

This package holds the evaluators as library code with no Kafka in them:
`model` (what an evaluator sees, `JudgeInput`, and what it returns,
`Judgment`), `evaluators` (offline heuristics, one per module: empty answer,
refusal, invalid JSON, PII leak, language mismatch, length outlier), `rubric`
(the versioned instructions of the LLM judge, files in `rubrics/`) and `llm` (`LlmJudge`,
any OpenAI-compatible chat-completions endpoint as a judge, with retries,
a concurrency limit and a circuit breaker).
"""
