"""The sales email writer: cold outreach and follow-up emails."""

from __future__ import annotations

from vigil.demo.catalog import AppSpec, TemplateSpec

SALES_EMAIL_WRITER = AppSpec(
    name="sales-email-writer",
    weight=0.15,
    environments=(("production", 0.8), ("staging", 0.2)),
    models=(("gpt-4o", 0.5), ("claude-3-5-haiku", 0.3), ("gemini-1.5-flash", 0.2)),
    templates=(
        TemplateSpec(
            "cold-outreach",
            "You write concise, friendly B2B sales emails. No buzzwords, one call to action.",
            (0.2, 0.3, 0.5),
            0.8,
        ),
        TemplateSpec(
            "follow-up",
            "Write a short, polite follow-up email that adds one new piece of value.",
            (0.6, 0.4),
            0.7,
        ),
    ),
    max_turns=3,
    max_tokens=(512,),
    context_tokens=(100, 600),
    openers=(
        "Write a cold email to the VP of Operations at a mid-size logistics company "
        "about our route optimization tool.",
        "Draft a follow-up email for a prospect who went quiet after the demo.",
        "Write a short LinkedIn message to a CTO who just raised a Series B.",
        "Rewrite this to sound less pushy: 'Just checking in again to see if you had "
        "time to review my proposal.'",
    ),
    follow_ups=(
        "Make it shorter and add a clear call to action.",
        "Use a more casual tone.",
        "Add a line about our SOC 2 certification.",
    ),
    answers=(
        "Subject: Cutting last-mile costs by 15%",
        "Hi Sarah,",
        "I noticed your team recently expanded to three new regions, congratulations.",
        "Fleets like yours typically save 10-15% on fuel in the first quarter with us.",
        "We are SOC 2 Type II certified, so security reviews are quick.",
        "Would you be open to a 20-minute call next Tuesday or Wednesday?",
        "Happy to share a short case study from a similar fleet.",
        "Best regards,\nAlex",
    ),
    sdk="vigil-js/0.3.2",
)
