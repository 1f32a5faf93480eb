"""Frameworks inside vigilo.track(), with the real packages against the loopback fakes: what is counted, once.

LangChain's chat models call the official SDKs (seen there); LiteLLM posts without them (seen through its callback
list). Outside a track() block nothing of theirs is recorded (their clients are never passed to wrap()).
"""
from __future__ import annotations

import os
import time
import warnings

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM would fetch its price map from GitHub at import
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import litellm
    from langchain_anthropic import ChatAnthropic
    from langchain_google_genai import ChatGoogleGenerativeAI
    from langchain_openai import ChatOpenAI

from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import sent_events

PROMPT = "Say hello."


def events_after(llm, sidecar, expected: int) -> "list[dict]":
    """LiteLLM runs its success callbacks on a worker thread: wait (bounded) for them, then flush."""
    for _ in range(100):
        assert llm.flush(5.0) is True
        if len(sidecar.events()) >= expected:
            break
        time.sleep(0.05)
    return sent_events(llm, sidecar)


def requests(*fakes) -> int:
    return sum(len(f.server.requests) for f in fakes)


def test_langchain_chat_models_count_once_each_with_the_providers_usage(llm, sidecar, fake_openai, fake_anthropic, fake_gemini):
    gpt = ChatOpenAI(model="gpt-4o-mini", api_key="sk-fake", base_url=fake_openai.base_url, max_retries=0)
    claude = ChatAnthropic(model="claude-sonnet-4-6", api_key="sk-ant-fake", base_url=fake_anthropic.base_url, max_retries=0)
    gemini = ChatGoogleGenerativeAI(model="gemini-2.5-flash", google_api_key="fake", base_url=fake_gemini.base_url)
    with llm.track():
        pass  # the SDKs are instrumented at `import vigilo` and at the first block, whichever comes first
    gpt.invoke(PROMPT)  # outside track(): not recorded
    with llm.track(conversation_id="lc", tags={"via": "langchain"}):
        assert gpt.invoke(PROMPT).content == "Hello from the fake."
        assert "".join(c.content for c in gpt.stream(PROMPT)) == "Hello from the fake."
        assert claude.invoke(PROMPT).content == "Bonjour depuis le faux."
        assert "".join(str(c.content) for c in claude.stream(PROMPT) if isinstance(c.content, str))
        assert gemini.invoke(PROMPT).content
        assert "".join(str(c.content) for c in gemini.stream(PROMPT)) == "Hallo vom Fake."
    events = events_after(llm, sidecar, 6)
    assert [(e["provider"], e["stream"], e["sdk"]["name"]) for e in events] == [
        ("openai", False, "openai"),
        ("openai", True, "openai"),
        ("anthropic", False, "anthropic"),
        ("anthropic", True, "anthropic"),
        ("google", False, "google-genai"),
        ("google", True, "google-genai"),
    ]
    assert requests(fake_openai, fake_anthropic, fake_gemini) == 7  # one request per event, plus the untracked one
    assert all(e["conversationId"] == "lc" and e["tags"] == {"via": "langchain"} for e in events)
    assert events[0]["usage"] == events[1]["usage"] == fake_openai.chat_usage
    assert events[2]["usage"] == fake_anthropic.usage  # through with_raw_response, parsed for the event
    assert events[3]["usage"]["input_tokens"] == fake_anthropic.usage["input_tokens"]
    assert events[4]["usage"] == events[5]["usage"] == fake_gemini.usage
    assert events[0]["messages"] == [{"role": "user", "content": PROMPT}]


def test_a_framework_calling_a_wrapped_client_still_counts_once(llm, sidecar, fake_openai):
    gpt = ChatOpenAI(model="gpt-4o-mini", api_key="sk-fake", base_url=fake_openai.base_url, max_retries=0)
    llm.wrap(gpt.root_client)  # the SDK client LangChain made, wrapped: wrap() and track() both see its calls
    gpt.invoke(PROMPT)  # wrapped: recorded even outside a block
    with llm.track(conversation_id="both"):
        gpt.invoke(PROMPT)
    events = events_after(llm, sidecar, 2)
    assert [e["conversationId"] for e in events] == [None, "both"]
    assert len(fake_openai.server.requests) == 2


def test_litellm_completion_is_seen_through_its_callbacks_once_per_call(llm, sidecar, fake_openai, fake_anthropic, fake_gemini):
    ask = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
    with llm.track(conversation_id="lite"):
        pass  # the first block adds Vigilo's logger to litellm.callbacks
    litellm.completion(model="openai/gpt-4o-mini", messages=ask, api_base=fake_openai.base_url, api_key="sk-fake")  # outside
    with llm.track(conversation_id="lite"):
        r = litellm.completion(model="openai/gpt-4o-mini", messages=ask, api_base=fake_openai.base_url, api_key="sk-fake")
        assert r.choices[0].message.content == "Hello from the fake."
        text = "".join(c.choices[0].delta.content or "" for c in litellm.completion(model="openai/gpt-4o-mini", messages=ask, api_base=fake_openai.base_url, api_key="sk-fake", stream=True))
        assert text == "Hello from the fake."
        litellm.completion(model="anthropic/claude-sonnet-4-6", messages=ask, api_base=fake_anthropic.server.url, api_key="sk-ant-fake")
        litellm.completion(model="gemini/gemini-2.5-flash", messages=ask, api_base=fake_gemini.server.url + "/v1beta", api_key="fake")
    events = events_after(llm, sidecar, 4)
    time.sleep(0.2)  # a late duplicate (sync and async callbacks) would show up here
    assert len(events_after(llm, sidecar, 4)) == 4
    by = {(e["provider"], e["stream"]): e for e in events}
    assert set(by) == {("openai", False), ("openai", True), ("anthropic", False), ("google", False)}
    assert all(e["conversationId"] == "lite" and e["sdk"]["name"] == "litellm" for e in events)
    assert by[("openai", False)]["usage"] == fake_openai.chat_usage  # the provider's own object
    # Without include_usage the stream reports no tokens: LiteLLM counted them itself, and the event says so.
    assert by[("openai", True)]["usageEstimated"] is True and by[("openai", True)]["usage"]["completion_tokens"] > 0
    assert not any(e["usageEstimated"] for e in events if e["stream"] is False)
    assert by[("anthropic", False)]["usage"] == fake_anthropic.usage
    assert by[("google", False)]["usage"] == fake_gemini.usage
    assert by[("openai", False)]["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
    assert by[("openai", False)]["output"] == "Hello from the fake."
    assert requests(fake_openai, fake_anthropic, fake_gemini) == 5


def test_litellm_streams_with_include_usage_carry_the_providers_counts(llm, sidecar, fake_openai, fake_anthropic):
    ask = [{"role": "user", "content": PROMPT}]
    with llm.track(conversation_id="lite-stream"):
        for _ in litellm.completion(model="openai/gpt-4o-mini", messages=ask, api_base=fake_openai.base_url, api_key="sk-fake", stream=True, stream_options={"include_usage": True}):
            pass
        for _ in litellm.completion(model="anthropic/claude-sonnet-4-6", messages=ask, api_base=fake_anthropic.server.url, api_key="sk-ant-fake", stream=True):
            pass
    events = {e["provider"]: e for e in events_after(llm, sidecar, 2)}
    assert events["openai"]["usageEstimated"] is False and events["openai"]["usage"]["prompt_tokens"] == 1200
    assert events["openai"]["usage"]["prompt_tokens_details"]["cached_tokens"] == 1024
    # Anthropic's stream usage, from LiteLLM's Usage put back under Anthropic's names.
    usage = fake_anthropic.usage
    assert {k: events["anthropic"]["usage"][k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")} == {
        k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
    }
