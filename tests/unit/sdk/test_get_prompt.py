"""VigilClient.get_prompt on a fake registry and a fake collector: the variant a caller
gets, the fallback, the counts in stats(), compile(), and events linked to the prompt."""

from __future__ import annotations

from collections.abc import Callable

from tests.unit.sdk.conftest import FakeCollector
from vigil_sdk import Prompt, VigilClient
from vigil_sdk.prompt_cache import Delivery, RolloutInfo
from vigil_sdk.prompts import PromptContent
from vigil_sdk.variants import assign

MakeClient = Callable[..., VigilClient]
V1 = PromptContent("support", 1, "chat", (("system", "Be brief."),
                                          ("user", "Where is order {{order_id}}?")),
                   model="gpt-4o-mini", params={"temperature": 0.2})
V2 = PromptContent("support", 2, "chat", (("system", "Be kind."),
                                          ("user", "Order {{order_id}} for {{name}}?")),
                   model="gpt-4o")


class Registry:
    def __init__(self, rollout: RolloutInfo | None = None) -> None:
        self.rollout, self.down, self.calls = rollout, False, 0

    def __call__(self, name: str, label: str) -> Delivery:
        self.calls += 1
        if self.down:
            raise ConnectionError("UNAVAILABLE")
        return Delivery(label, V1, self.rollout)


def test_without_rollout_everyone_gets_the_label_version(make_client: MakeClient,
                                                         collector: FakeCollector) -> None:
    registry = Registry()
    client = make_client(collector, prompt_fetch=registry)
    prompt = client.get_prompt("support", user_id="u1")
    assert isinstance(prompt, Prompt)
    assert (prompt.name, prompt.version, prompt.label, prompt.variant, prompt.is_fallback,
            prompt.model, prompt.params) == ("support", 1, "production", "", False,
                                             "gpt-4o-mini", {"temperature": 0.2})
    assert prompt.compile(order_id=42) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where is order 42?"}]
    for _ in range(10):
        client.get_prompt("support")
    assert registry.calls == 1
    assert dict(client.stats().prompts) == {"fetched": 1, "hit": 10}


def test_a_rollout_splits_users_like_the_assignment(make_client: MakeClient,
                                                    collector: FakeCollector) -> None:
    rollout = RolloutInfo("support:production#3", V2, 30.0, "user", {"plan": ("pro",)})
    client = make_client(collector, prompt_fetch=Registry(rollout))
    got = {}
    for i in range(400):
        p = client.get_prompt("support", user_id=f"u{i}", attributes={"plan": "pro"})
        assert p is not None
        want = "candidate" if assign("support:production#3", f"u{i}", 30) else "control"
        assert (p.variant, p.version, p.rollout_id) == (
            want, 2 if want == "candidate" else 1, "support:production#3")
        got[f"u{i}"] = p.version
    assert 60 < sum(v == 2 for v in got.values()) < 180
    again = [client.get_prompt("support", user_id=u, attributes={"plan": "pro"}) for u in got]
    assert [p.version for p in again if p] == list(got.values())  # the same user, the same
    outside = client.get_prompt("support", user_id="u1", attributes={"plan": "free"})
    nobody = client.get_prompt("support", attributes={"plan": "pro"})  # no user id
    assert outside is not None and nobody is not None
    assert (outside.version, outside.variant, nobody.version, nobody.variant) == (1, "", 1, "")


def test_fallback_when_never_fetched_and_never_raises(make_client: MakeClient,
                                                      collector: FakeCollector) -> None:
    registry = Registry()
    registry.down = True
    client = make_client(collector, prompt_fetch=registry)
    fallback = [{"role": "user", "content": "Where is {{order_id}}?"}]
    p = client.get_prompt("support", fallback=fallback)
    assert p is not None and p.is_fallback and p.version == 0
    assert p.compile(order_id=7) == [{"role": "user", "content": "Where is 7?"}]
    text = client.get_prompt("support", "staging", fallback="Hi {{name}}")
    assert text is not None and text.compile(name="Ann") == "Hi Ann"
    assert client.get_prompt("support", "beta") is None
    assert client.get_prompt("support", "gamma", fallback=[{"bad": 1}]) is None  # unusable
    stats = client.stats()
    assert stats.prompts["fallback"] == 2 and stats.prompts["none"] == 1
    assert stats.prompts["fetch_error"] == 4 and stats.last_error is not None


def test_compile_leaves_unknown_placeholders(make_client: MakeClient,
                                             collector: FakeCollector) -> None:
    client = make_client(collector, prompt_fetch=Registry(
        RolloutInfo("r#1", V2, 100.0, "session", {})))
    p = client.get_prompt("support", session_id="s1")
    assert p is not None and p.version == 2 and p.variables == ["order_id", "name"]
    assert p.compile(order_id=5)[1] == {"role": "user", "content": "Order 5 for {{name}}?"}


def test_recorded_calls_link_to_the_prompt(make_client: MakeClient,
                                           collector: FakeCollector) -> None:
    rollout = RolloutInfo("support:production#3", V2, 100.0, "user", {})
    client = make_client(collector, prompt_fetch=Registry(rollout))
    p = client.get_prompt("support", user_id="u1")
    assert p is not None
    client.record(model="gpt-4o", prompt=p.compile(order_id=1, name="Ann"), completion="ok")
    with client.llm_call(model="gpt-4o", prompt=p.compile(order_id=2, name="Bo")) as call:
        call.completion = "ok"
    client.record(model="gpt-4o", prompt="plain", prompt_template=p)
    client.record(model="gpt-4o", prompt=p.compile(order_id=3), prompt_template_version="x",
                  attributes={"vigil.prompt.label": "mine"})
    client.record(model="gpt-4o", prompt="unlinked")
    assert client.flush(5)
    linked = {"vigil.prompt.label": "production", "vigil.prompt.variant": "candidate",
              "vigil.prompt.rollout_id": "support:production#3"}
    events = collector.events
    for e in events[:3]:
        assert (e.prompt_template_id, e.prompt_template_version) == ("support", "2")
        assert {k: e.attributes[k] for k in linked} == linked
    assert events[0].prompt[1].content == "Order 1 for Ann?"
    assert (events[3].prompt_template_version, events[3].attributes["vigil.prompt.label"]) \
        == ("x", "mine")  # what the app gave wins
    assert (events[4].prompt_template_id, "vigil.prompt.label" in events[4].attributes) \
        == ("", False)
