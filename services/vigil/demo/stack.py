"""What ``vigil up`` changes when it runs the demo, so that every feature shows within ten
minutes (pure: settings and environment in, environment out).

- The judge stage gets the demo's stand-in LLM judge (``vigil demo-judge`` on
  ``VIGIL_DEMO_JUDGE_LISTEN``, model ``vigil-demo-judge``), unless an LLM judge is set.
- The analyzer works on 5-minute windows (a detector needs 5 minutes with data) and
  checks drift every 3 cycles over the last 10 minutes (the defaults, 15-minute windows
  and a check every 15 cycles over an hour, would need two hours of history and well over
  ten minutes to say anything). Each of these is only a default: a variable the user set
  wins.
- ``BACKFILL_MINUTES`` of history come first, enough for the analyzer's short-history
  baseline (8 past windows) before the first incident, and little enough for the judge
  (whose LLM calls are its slowest part: about 50 a second against the stand-in on this
  2-core machine under load) to catch up in a few minutes.
"""

from __future__ import annotations

from collections.abc import Mapping

from vigil.demo.judge import DEMO_JUDGE_MODEL
from vigil.settings import Settings

BACKFILL_MINUTES = 45
READY_FILE = "demo-backfilled"  # in VIGIL_DATA_DIR: when the back-fill was sent
DEMO_RATE = 25.0  # events/s of `vigil up`'s demo: enough for every detector's floors on the
# smallest slice, and half the judge's work of 50/s, so the back-fill is judged sooner
DEMO_ANALYZER_ENV = {
    "VIGIL_ANALYZER_WINDOW_MINUTES": "5",
    "VIGIL_ANALYZER_DRIFT_EVERY_CYCLES": "3",
    "VIGIL_DRIFT_WINDOW_MINUTES": "10",
}


def demo_judge_url(settings: Settings) -> str:
    host, _, port = settings.demo_judge_listen.rpartition(":")
    host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    return f"http://{host}:{port}/v1"


def uses_demo_judge(settings: Settings, env: Mapping[str, str]) -> bool:
    """True when no LLM judge was configured: the demo brings its stand-in."""
    return not settings.judge_llm_base_url and "VIGIL_JUDGE_LLM_BASE_URL" not in env


def demo_env(settings: Settings, env: Mapping[str, str]) -> dict[str, str]:
    """The variables the demo adds to the children's environment ``env`` (never one
    that ``env`` already sets)."""
    extra = dict(DEMO_ANALYZER_ENV)
    if uses_demo_judge(settings, env):
        extra.update({
            "VIGIL_JUDGE_LLM_BASE_URL": demo_judge_url(settings),
            "VIGIL_JUDGE_LLM_MODEL": DEMO_JUDGE_MODEL,
            "VIGIL_JUDGE_LLM_PROVIDER": "vigil-demo",
            "VIGIL_JUDGE_LLM_RUBRICS": "helpfulness",
        })
    return {k: v for k, v in extra.items() if k not in env}
