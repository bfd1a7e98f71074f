"""An app that records one LLM call and one piece of feedback with the SDK alone.

    pip install ./sdk            # grpcio and protobuf come with it, nothing else
    python sdk/examples/send_event.py [ENDPOINT] [API_KEY]

Defaults: a local `vigil up` (127.0.0.1:50051, the demo key). Prints the trace id
and the client's counters; exits 1 unless the collector acknowledged both events.
"""

from __future__ import annotations

import sys

from vigil_sdk import VigilClient


def main(argv: list[str]) -> int:
    endpoint = argv[0] if argv else "127.0.0.1:50051"
    api_key = argv[1] if len(argv) > 1 else "vigil-demo-key"
    vigil = VigilClient(api_key, endpoint, app="sdk-example", max_spill_bytes=0)
    with vigil.llm_call(model="gpt-4o-mini", provider="openai",
                        prompt=[{"role": "user", "content": "Where is my order?"}]) as call:
        call.completion = "It ships tomorrow."  # the app's real model call goes here
        call.tokens(input=12, output=6)
    vigil.submit_feedback(call.trace_id, "thumbs", True)
    vigil.close(timeout_s=30)
    stats = vigil.stats()
    print(f"trace {call.trace_id}: {stats}")
    return 0 if stats.sent == 2 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
