"""The document summarizer: summaries and key points (some as JSON) of a document."""

from __future__ import annotations

from vigil.demo.catalog import AppSpec, TemplateSpec

DOC_SUMMARIZER = AppSpec(
    name="doc-summarizer",
    weight=0.2,
    environments=(("production", 0.9), ("staging", 0.1)),
    models=(("gemini-1.5-flash", 0.6), ("gpt-4o-mini", 0.4)),
    templates=(
        TemplateSpec(
            "summarize",
            "Summarize documents faithfully. Do not add facts that are not in the text.",
            (0.3, 0.7),
            0.0,
        ),
        TemplateSpec(
            "extract-key-points",
            'Return JSON with keys "summary" (string) and "key_points" (list of strings).',
            (0.5, 0.5),
            0.0,
            "json_object",
        ),
    ),
    max_turns=3,
    max_tokens=(512, 1024),
    context_tokens=(400, 3200),
    openers=(
        "Summarize the following document in three sentences:\n\n{doc}",
        "Extract the key points from this meeting transcript:\n\n{doc}",
        "Give me a TL;DR of this report for an executive audience:\n\n{doc}",
    ),
    follow_ups=(
        "Make it shorter.",
        "What are the action items and their owners?",
        "Which of these points are risks?",
    ),
    answers=(
        "Revenue grew 12% year over year, led by enterprise customers.",
        "SMB churn rose after the July price change.",
        "The EU migration moves to Q1.",
        "Support volume dropped thanks to the new onboarding flow.",
        "Finance revises the forecast; Legal reviews the auto-renewing contracts.",
        "Overall the quarter was solid, with churn as the main risk.",
    ),
    sdk="vigil-python/0.1.0",
)
