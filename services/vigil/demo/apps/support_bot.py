"""The support bot: help-center answers and hand-overs to a human agent."""

from __future__ import annotations

from vigil.demo.catalog import AppSpec, TemplateSpec

SUPPORT_BOT = AppSpec(
    name="support-bot",
    weight=0.4,
    environments=(("production", 0.85), ("staging", 0.15)),
    models=(("gpt-4o-mini", 0.4), ("claude-3-5-haiku", 0.25), ("acme-support-ft-v3", 0.35)),
    templates=(
        TemplateSpec(
            "support-answer",
            "You are Acme's friendly support assistant. Answer from the help center "
            "articles provided. Never ask for full card numbers or passwords.",
            (0.15, 0.6, 0.25),
            0.3,
        ),
        TemplateSpec(
            "support-escalation",
            "Decide whether the conversation needs a human agent and write a short "
            "hand-over note for the agent.",
            (0.4, 0.6),
            0.0,
        ),
    ),
    max_turns=8,
    max_tokens=(128, 256, 512),
    context_tokens=(150, 2500),
    openers=(
        "How do I reset my password? The reset link in the email has expired.",
        "I was charged twice for my subscription this month.",
        "Can I change the billing address on my invoice?",
        "The mobile app logs me out every few minutes.",
        "How do I export all my data as CSV?",
        "Is there a way to add a second admin to our workspace?",
        "My order #48213 still shows as processing after five days.",
        "How do I cancel my plan before the renewal date?",
    ),
    follow_ups=(
        "That didn't work, I still get the same error.",
        "Thanks. And how long does the refund take?",
        "Can you escalate this to a human agent?",
        "OK, where do I find that setting on Android?",
        "Got it, does this also apply to the team plan?",
    ),
    answers=(
        "I'm sorry for the trouble.",
        "You can reset your password from Settings > Security > Reset password.",
        "Reset links expire after 24 hours, so please request a new one.",
        "I can see two charges on the same day in your billing history.",
        "Duplicate charges are refunded automatically within 5-7 business days.",
        "To change the billing address, open Billing > Invoices and click Edit details.",
        "Exports live under Settings > Data > Export and may take a few minutes.",
        "Only workspace owners can add admins; ask your owner to change your role.",
        "If the problem persists, I can open a ticket with our support team.",
        "Is there anything else I can help you with?",
    ),
    sdk="vigil-python/0.1.0",
)
