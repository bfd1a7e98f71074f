"""Speed of `vigil import`: lines per second of wall time and per CPU-second, on a generated
JSONL file (trace events of about 1 KB over several apps and models, one in ten with an
e-mail address to mask, feedback on one in ten) imported into a fresh embedded store.

    python -m bench.import_speed [--lines 50000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from vigil.launch.import_cli import import_command
from vigil.settings import Settings

KEY, PROJECT = "bench-import-key", "bench"
APPS = (("support-bot", "openai", "gpt-4o"), ("search", "openai", "gpt-4o-mini"),
        ("summarizer", "anthropic", "claude-sonnet-4"))


def history(lines: int) -> bytes:
    start = datetime(2025, 3, 3, tzinfo=UTC)
    out = []
    for i in range(lines):
        t = start + timedelta(seconds=i * 7 * 86400 // lines)
        app, provider, model = APPS[i % len(APPS)]
        ask = (f"Where is my order {i}? It was due yesterday and I need it on Saturday."
               + (f" Mail me at jane{i}@example.com." if i % 10 == 0 else ""))
        out.append(orjson.dumps({
            "eventId": f"ev-{i}", "traceId": f"{i:032x}", "app": app,
            "environment": "production", "provider": provider, "model": model,
            "startTime": _z(t), "endTime": _z(t + timedelta(milliseconds=700 + i % 900)),
            "prompt": [{"role": "system", "content": "You are a helpful support agent for "
                        "an online shop. Answer briefly and politely."},
                       {"role": "user", "content": ask}],
            "completion": "Your order ships tomorrow; you will get a tracking link by mail "
                          "as soon as the parcel leaves our warehouse. " * 3,
            "inputTokens": 300 + i % 50, "outputTokens": 120 + i % 30, "finishReason": "stop",
            "promptTemplateId": "support", "promptTemplateVersion": "v2",
            "userId": f"u{i % 100}", "sessionId": f"s{i % 500}"}))
        if i % 10 == 0:
            out.append(orjson.dumps({"feedback": {
                "traceId": f"{i:032x}", "kind": "FEEDBACK_KIND_THUMBS", "value": i % 20 // 10,
                "time": _z(t + timedelta(seconds=3))}}))
    return b"\n".join(out) + b"\n"


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=50_000, help="trace events")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.jsonl"
        path.write_bytes(history(args.lines))
        lines = path.read_bytes().count(b"\n")
        settings = Settings(data_dir=Path(folder) / "data", api_keys=f"{KEY}={PROJECT}")
        summary = io.StringIO()
        wall, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(summary):
            code = import_command(settings, path, KEY, None)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(summary.getvalue().strip())
    print(f"exit {code}; {lines} lines: {lines / wall:,.0f} lines/s of wall time, "
          f"{lines / cpu:,.0f} lines per CPU-second (opening and migrating the store "
          f"included: {wall:.1f} s wall, {cpu:.1f} s CPU)")


if __name__ == "__main__":
    main()
