"""Vigil's Python SDK: record LLM calls and user feedback without slowing the app down.

    from vigil_sdk import VigilClient

    vigil = VigilClient("my-api-key", "collector:50051", app="support-bot")
    vigil.record(model="gpt-4o-mini", provider="openai", prompt=messages,
                 completion=answer, start=t0, end=t1, input_tokens=12, output_tokens=30)
    with vigil.llm_call(model="gpt-4o", provider="openai", prompt=messages) as call:
        call.completion = llm(messages)
    openai_client = vigil.wrap_openai(OpenAI())
    vigil.submit_feedback(trace_id, "thumbs", True)
    prompt = vigil.get_prompt("support", "production", user_id=user, fallback=messages)
    openai_client.chat.completions.create(model=prompt.model, messages=prompt.compile(
        order_id=42))   # the recorded call carries the prompt's name, version and variant

Guarantees (details in :mod:`vigil_sdk.client` and docs/sdk.md):
- never blocks the caller: a bounded queue and ``put_nowait``; a full queue drops
  the event and counts it;
- never raises into the app: every public method catches and counts its errors;
  the app's own exceptions pass through the decorator and context manager
  unchanged;
- every event is accounted for in ``stats()``: sent, rejected (with the reason),
  spilled/replayed, or dropped by reason;
- collector outages are bridged by a spill directory on disk, replayed oldest
  first when the collector is back, also by a later process; replays reuse event
  ids, so nothing is stored twice.
"""

import logging

from vigil_sdk._version import __version__
from vigil_sdk.capture import LLMCall, current_call
from vigil_sdk.client import VigilClient, default_spill_dir
from vigil_sdk.openai import wrap_openai
from vigil_sdk.prompts import Prompt
from vigil_sdk.stats import Stats

# A library does not configure logging: the app decides where "vigil_sdk" goes.
logging.getLogger("vigil_sdk").addHandler(logging.NullHandler())

__all__ = ["LLMCall", "Prompt", "Stats", "VigilClient", "__version__", "current_call",
           "default_spill_dir", "wrap_openai"]
