"""Against a real sidecar: the "untracked calls" signal (kernel facts → /llm/usage, heartbeat answer, %vigilo), and
the tokens and cost the sidecar computes for the new Python paths (legacy Gemini SDK, LiteLLM, parse())."""
from __future__ import annotations

import os
import warnings

import pytest
from IPython.utils.capture import capture_output

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import google.generativeai as legacy_genai
    import litellm

from vigilo import _sidecar
from vigilo._kernel import Heartbeat

from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import openai_client


@pytest.fixture
def real_sidecar(llm, vigilo_data_dir, sidecar_built, monkeypatch):
    from vigilo.llm import _census

    monkeypatch.setattr(_census, "_tracked", {})
    monkeypatch.setattr(_census, "_untracked", {})
    discovery = _sidecar.ensure_running(vigilo_data_dir)
    llm.configure(url=discovery["url"], token=discovery["token"])
    return discovery


def get(discovery, path):
    status, body = _sidecar.request(discovery, "GET", path)
    assert status == 200, body
    return body


def test_untracked_calls_reach_llm_usage_and_the_heartbeat_answer_with_the_fix(llm, real_sidecar, vigilo_data_dir, fake_openai):
    plain = openai_client(fake_openai)
    heartbeat = Heartbeat(vigilo_data_dir)
    answers = []
    heartbeat.answer_listeners.append(answers.append)
    assert heartbeat.beat()
    assert get(real_sidecar, "/llm/usage")["untracked"] is None  # openai loaded, nothing passed yet
    plain.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])  # untracked
    plain.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])  # untracked
    with llm.track():
        plain.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])  # tracked
    assert heartbeat.payload()["llm"]["untracked"] == {"openai": 2}
    assert heartbeat.payload()["llm"]["tracked"] == {"openai": 1}
    assert heartbeat.beat()
    untracked = get(real_sidecar, "/llm/usage")["untracked"]
    assert untracked["calls"] == 2 and untracked["bySdk"] == [{"sdk": "openai", "calls": 2}]
    assert untracked["message"].startswith("2 LLM calls ran without Vigilo tracking them (OpenAI 2)")
    assert untracked["fix"] == "client = vigilo.wrap(OpenAI())"
    assert "anthropic" in untracked["silentSdks"] and "openai" not in untracked["silentSdks"]  # loaded here, never called
    assert answers[-1]["llmUntracked"] == {"calls": 2, "message": untracked["message"], "fix": untracked["fix"]}
    assert "llmUntracked" not in answers[0]


def test_percent_vigilo_shows_the_untracked_note_once_in_its_live_output(ip, llm, real_sidecar, vigilo_data_dir, fake_openai):
    active = ip.display_formatter.active_types
    ip.display_formatter.active_types = ["text/plain", "text/html"]  # as a notebook kernel asks
    ip.run_line_magic("load_ext", "vigilo")
    try:
        with capture_output():
            ip.run_line_magic("vigilo", "")
        magics = ip.magics_manager.registry["VigiloMagics"]
        openai_client(fake_openai).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        magics.heartbeat.beat()  # the answer carries the note
        with capture_output() as out:
            ip.run_line_magic("vigilo", "status")
        shown = out.outputs[-1]
        text, page = shown.data["text/plain"], shown.data.get("text/html", "")
        assert text.count("ran without Vigilo tracking") == 1
        assert "Fix: client = vigilo.wrap(OpenAI())" in text and "vigilo-untracked" in page
    finally:
        ip.run_line_magic("unload_ext", "vigilo")
        ip.display_formatter.active_types = active


def test_the_sidecar_prices_the_new_python_paths(llm, real_sidecar, fake_openai, fake_anthropic, fake_gemini):
    legacy_genai.configure(api_key="fake", transport="rest", client_options={"api_endpoint": fake_gemini.server.url})
    model = llm.wrap(legacy_genai.GenerativeModel("gemini-2.5-flash"))
    chat = model.start_chat()
    chat.send_message("Say hello.")
    chat.send_message("Again.")
    llm.wrap(openai_client(fake_openai)).chat.completions.parse(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with llm.track(conversation_id="lite"):
        litellm.completion(model="anthropic/claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}], api_base=fake_anthropic.server.url, api_key="k")
    calls = []
    for _ in range(100):  # LiteLLM's callback runs on its worker thread
        assert llm.flush(5.0) is True
        calls = get(real_sidecar, "/llm/calls?limit=10")["calls"][::-1]
        if len(calls) >= 4:
            break
    gemini1, gemini2, parsed, lite = calls
    # google.generativeai's protos drop thoughtsTokenCount; the sidecar bills the rest of totalTokenCount (2143 −
    # 2100 − 3 = 40) as thoughts, as the API counted them.
    assert gemini1["tokens"] == {**gemini1["tokens"], "inputTokens": 2100, "cachedInputTokens": 2048, "outputTokens": 43, "reasoningTokens": 40}
    assert gemini1["costUsd"] == pytest.approx((52 * 0.30 + 2048 * 0.03 + 43 * 2.50) / 1e6, rel=1e-9)
    assert gemini1["conversationId"] == gemini2["conversationId"] and gemini1["conversationId"].startswith("chat-")
    assert parsed["tokens"]["inputTokens"] == 1200 and parsed["costUsd"] == pytest.approx((176 * 0.15 + 1024 * 0.075 + 4 * 0.60) / 1e6, rel=1e-9)
    # claude-sonnet-4-6: 21 uncached × $3 + 1500 cache-write (5 min) × $3.75 + 3000 cache-read × $0.30 + 4 out × $15.
    assert lite["tokens"]["inputTokens"] == 4521 and lite["tokens"]["cacheWriteTokens"] == 1500 and lite["conversationId"] == "lite"
    assert lite["costUsd"] == pytest.approx((21 * 3 + 1500 * 3.75 + 3000 * 0.30 + 4 * 15) / 1e6, rel=1e-9)
    assert lite["sdk"].startswith("python:litellm@")
