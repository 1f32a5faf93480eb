"""Real recorded provider responses (test/fixtures/llm-recorded/, each citing its repository, path and commit),
replayed byte for byte from a loopback server to the real Python SDKs wrapped with vigilo.llm, priced by a real
sidecar; the cost must equal the one computed by hand from the provider's published prices (in each fixture)."""
from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import anthropic
import openai
import pytest
from google import genai

from fakes.server import LoopbackServer, Reply
from llm_fixtures import llm  # noqa: F401

from vigilo import _sidecar

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "test" / "fixtures" / "llm-recorded").glob("*/*.json"))


def replay(case: dict) -> LoopbackServer:
    """Answers every request with one recorded response: its status, Content-Type and body as recorded."""
    reply = Reply(case["response"]["status"], case["response"]["body"].encode("utf-8"), headers={"Content-Type": case["response"]["contentType"]})
    return LoopbackServer(lambda _request: reply)


def _call(method, body: dict):
    """Call an SDK method with the recorded body; parameters this SDK version does not name go in extra_body."""
    names = inspect.signature(method).parameters
    known = {k: v for k, v in body.items() if k in names}
    extra = {k: v for k, v in body.items() if k not in names}
    return method(**known, **({"extra_body": extra} if extra else {}))


def _replay(llm, case: dict, url: str) -> None:
    body = dict(case["request"]["body"] or {})
    if case["provider"] == "anthropic":
        client = llm.wrap(anthropic.Anthropic(api_key="sk-ant-test-not-a-key", base_url=url, max_retries=0))
        result = _call(client.messages.create, body)
    elif case["provider"] == "openai":
        client = llm.wrap(openai.OpenAI(api_key="sk-test-not-a-key", base_url=url + "/v1", max_retries=0))
        result = _call(client.responses.create if case["api"] == "responses" else client.chat.completions.create, body)
    else:
        client = llm.wrap(genai.Client(api_key="test-not-a-key", http_options={"base_url": url}))
        model = re.search(r"models/([^:/?]+)", case["source"]["recordedUri"]).group(1)
        config = {"system_instruction": body["systemInstruction"]} if body.get("systemInstruction") else None
        if "streamGenerateContent" in case["source"]["recordedUri"]:
            for _ in client.models.generate_content_stream(model=model, contents=body["contents"], config=config):
                pass
        else:
            client.models.generate_content(model=model, contents=body["contents"], config=config)
        return
    if body.get("stream"):
        for _ in result:
            pass


@pytest.fixture(scope="module")
def real_sidecar(tmp_path_factory, sidecar_built):
    data = tmp_path_factory.mktemp("vigilo-recorded")
    discovery = _sidecar.ensure_running(data)
    yield discovery
    _sidecar.stop(data)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_recorded_response_is_priced_as_the_provider_bills_it(llm, real_sidecar, path):  # noqa: F811
    case = json.loads(path.read_text())
    llm.configure(url=f"http://127.0.0.1:{real_sidecar['port']}", token=real_sidecar["token"])
    with llm.track(conversation_id=f"recorded-{case['id']}"), replay(case) as server:
        _replay(llm, case, server.url)
    assert llm.flush() is not False
    code, body = _sidecar.request(real_sidecar, "GET", f"/llm/calls?limit=5&conversationId=recorded-{case['id']}")
    assert code == 200, body
    [call] = body["calls"]
    assert call["status"] == "ok" and call["usageEstimated"] is False
    assert call["pricedModel"] is not None, f"{case['id']}: unpriced {call['model']}"
    assert call["costUsd"] == pytest.approx(case["expected"]["costUsd"], abs=1e-10), case["expected"]["arithmetic"]
    if "reasoningTokens" in case["expected"]:
        assert call["tokens"]["reasoningTokens"] == case["expected"]["reasoningTokens"]
