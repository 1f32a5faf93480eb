"""vigilo.summarize() and vigilo.fresh_start() against a real sidecar: offline, with the user's own model through
the real SDKs (loopback fakes, and one recorded OpenAI response replayed byte for byte), the fallback on failure,
and the successor link of a fresh start."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.server import LoopbackServer, Reply
from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import anthropic_client, gemini_client, openai_client

import vigilo
from vigilo import _sidecar

ROOT = Path(__file__).resolve().parent.parent
RECORDED = json.loads((ROOT / "test" / "fixtures" / "llm-recorded" / "openai" / "openai-plain.json").read_text())

TURNS = [
    {"role": "user", "content": "Hi there!"},
    {"role": "user", "content": "Our loader reads data/sales_2025.csv and writes report.parquet. Please add a column for the region code."},
    {"role": "assistant", "content": "I added region_code to load_sales() in etl/load.py; the tests in tests/test_load.py pass."},
    {"role": "user", "content": "We decided to keep the old column names for now. Can you also write the README section about it?"},
]


@pytest.fixture
def real_sidecar(llm, vigilo_data_dir, sidecar_built):
    discovery = _sidecar.ensure_running(vigilo_data_dir)
    llm.configure(url=None, data_dir=str(vigilo_data_dir))
    return discovery


def _record(llm, fake_openai, conversation_id: str) -> None:
    """One tracked call of a wrapped OpenAI client (loopback fake), its messages captured by the sidecar."""
    client = llm.wrap(openai_client(fake_openai))
    with llm.track(conversation_id=conversation_id):
        client.chat.completions.create(model="gpt-4o-mini", messages=TURNS)
    assert llm.flush(10.0) is True, llm.stats()


def test_offline_summary_of_a_list_keeps_speakers_anchors_dates_and_names_the_task(real_sidecar, vigilo_data_dir):
    messages = [
        {"role": "user", "speaker": "Caroline", "date": "1:56 pm on 8 May, 2023", "content": "Hey Mel! Good to see you!"},
        {"role": "assistant", "speaker": "Melanie", "content": "I ran a charity race for mental health last Saturday."},
        {"role": "user", "speaker": "Caroline", "content": "I went to a LGBTQ support group yesterday and it was so powerful."},
    ]
    summary = vigilo.summarize(messages, budget_tokens=200, data_dir=vigilo_data_dir)
    assert summary.method == "extractive" and summary.note is None and summary.cost_usd is None
    assert "- Caroline: I went to a LGBTQ support group yesterday [7 May 2023]" in summary.text
    assert "[the Saturday before 8 May 2023]" in summary.text
    assert "Good to see you" not in summary.text
    assert vigilo.summarize(messages, budget_tokens=200, data_dir=vigilo_data_dir).text == summary.text


def test_a_recorded_openai_response_is_the_summary_and_its_cost_is_what_the_sidecar_priced(llm, real_sidecar, fake_openai, vigilo_data_dir):
    _record(llm, fake_openai, "sales-etl")
    reply = Reply(RECORDED["response"]["status"], RECORDED["response"]["body"].encode(), headers={"Content-Type": RECORDED["response"]["contentType"]})
    with LoopbackServer(lambda _request: reply) as replay:
        client = llm.wrap(openai_client(type("Fake", (), {"base_url": replay.url + "/v1"})()))
        summary = vigilo.summarize("sales-etl", client=client, model="gpt-3.5-turbo", budget_tokens=300, data_dir=vigilo_data_dir)
        [request] = replay.requests
    recorded_text = json.loads(RECORDED["response"]["body"])["choices"][0]["message"]["content"]
    assert summary.method == "model" and summary.note is None
    assert summary.text == recorded_text.strip()
    # The request asked for the offline summary's structure and carried the conversation.
    system, user = request.body["messages"]
    assert "Current task" in system["content"] and "Artifacts named" in system["content"] and "[brackets]" in system["content"]
    assert "data/sales_2025.csv" in user["content"] and request.body["max_completion_tokens"] == 300
    # ... as the sidecar wrote it (src/core/llm/summaryRequest.ts: the one prompt that TypeScript sends too).
    status, served = _sidecar.request(real_sidecar, "GET", "/llm/conversations/sales-etl/summary-request?budgetTokens=300")
    assert status == 200 and served["hasContent"] is True
    assert [system["content"], user["content"]] == [served["system"], served["user"]]
    # Recorded through the wrapper under its own conversation, priced by the sidecar: the fixture's hand-computed cost.
    assert summary.cost_usd == pytest.approx(RECORDED["expected"]["costUsd"], abs=1e-9)
    status, health = _sidecar.request(real_sidecar, "GET", "/llm/health/sales-etl%3Asummary")
    assert status == 200 and health["calls"] == 1


@pytest.mark.parametrize("kind", ["anthropic", "google"])
def test_anthropic_and_google_clients_write_the_summary_too(llm, real_sidecar, fake_openai, fake_anthropic, fake_gemini, vigilo_data_dir, kind):
    _record(llm, fake_openai, f"with-{kind}")
    client = llm.wrap(anthropic_client(fake_anthropic) if kind == "anthropic" else gemini_client(fake_gemini))
    summary = vigilo.summarize(f"with-{kind}", client=client, data_dir=vigilo_data_dir)
    assert summary.method == "model", summary.note
    fake = fake_anthropic if kind == "anthropic" else fake_gemini
    [request] = [r for r in fake.server.requests if r.method == "POST"]
    sent = json.dumps(request.body)
    assert "Current task" in sent and "data/sales_2025.csv" in sent
    assert summary.text


def test_a_list_of_messages_goes_to_the_model_as_the_sidecar_writes_its_request(llm, real_sidecar, fake_openai, vigilo_data_dir):
    messages = [
        {"role": "user", "speaker": "Caroline", "date": "1:56 pm on 8 May, 2023", "content": "I went to a LGBTQ support group yesterday."},
        {"role": "assistant", "speaker": "Melanie", "content": "I ran a charity race last Saturday."},
    ]
    summary = vigilo.summarize(messages, client=llm.wrap(openai_client(fake_openai)), budget_tokens=200, data_dir=vigilo_data_dir)
    assert summary.method == "model", summary.note
    [request] = [r for r in fake_openai.server.requests if r.method == "POST"]
    status, served = _sidecar.request(real_sidecar, "POST", "/llm/summary-request", {"messages": messages, "budgetTokens": 200})
    assert status == 200 and served["maxTokens"] == 200
    assert request.body["messages"] == [{"role": "system", "content": served["system"]}, {"role": "user", "content": served["user"]}]
    assert "Caroline (1:56 pm on 8 May, 2023): I went to a LGBTQ support group yesterday." in served["user"]


def test_without_captured_content_no_request_is_written_and_the_offline_summary_says_why(llm, real_sidecar, fake_openai, vigilo_data_dir, monkeypatch):
    monkeypatch.setenv("VIGILO_CAPTURE_CONTENT", "0")
    _record(llm, fake_openai, "private")
    monkeypatch.delenv("VIGILO_CAPTURE_CONTENT")
    status, served = _sidecar.request(real_sidecar, "GET", "/llm/conversations/private/summary-request?budgetTokens=300")
    assert status == 200 and served == {"hasContent": False, "system": None, "user": None, "maxTokens": 300}
    sent_before = len(fake_openai.server.requests)
    summary = vigilo.summarize("private", client=llm.wrap(openai_client(fake_openai)), data_dir=vigilo_data_dir)
    assert summary.method == "extractive" and "content capture was off" in summary.note
    assert len(fake_openai.server.requests) == sent_before, "no summarisation request without content"


def test_any_failure_of_the_model_falls_back_to_the_offline_summary_with_the_reason(llm, real_sidecar, fake_openai, vigilo_data_dir):
    _record(llm, fake_openai, "failing")
    fake_openai.fail_next(500)
    summary = vigilo.summarize("failing", client=llm.wrap(openai_client(fake_openai)), data_dir=vigilo_data_dir)
    assert summary.method == "extractive"
    assert "InternalServerError" in summary.note
    offline = vigilo.summarize("failing", data_dir=vigilo_data_dir)
    assert summary.text == offline.text
    assert "Please add a column for the region code" in offline.text or "README section" in offline.text
    # Not a client of a known SDK: also the offline summary, with the reason.
    odd = vigilo.summarize("failing", client=object(), data_dir=vigilo_data_dir)
    assert odd.method == "extractive" and "TypeError" in odd.note


def test_fresh_start_opens_the_next_conversation_and_links_it_as_the_successor(llm, real_sidecar, fake_openai, vigilo_data_dir):
    _record(llm, fake_openai, "long-one")
    start = vigilo.fresh_start("long-one", recent_tokens=200, data_dir=vigilo_data_dir)
    assert start.conversation_id == "long-one~1"
    assert start.messages[0]["role"] == "system" and start.messages[0]["content"] == start.summary.text
    assert start.messages[-1]["content"] == "Hello from the fake."
    assert start.link["previousTokens"] == 1204
    assert start.link["savedTokensPerMessage"] == 1204 - start.link["freshTokens"]
    status, chain = _sidecar.request(real_sidecar, "GET", "/llm/conversations/long-one~1/chain")
    assert status == 200 and [link["successorId"] for link in chain["chain"]] == ["long-one~1"]
    with pytest.raises(RuntimeError, match="HTTP 404"):
        vigilo.fresh_start("never-seen", data_dir=vigilo_data_dir)
