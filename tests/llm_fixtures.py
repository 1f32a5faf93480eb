"""Fixtures for the LLM wrapper tests (tests/conftest.py belongs to the launcher tests).

Import them into a test module with ``from llm_fixtures import *``.
"""
from __future__ import annotations

import re
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from fakes.anthropic_fake import FakeAnthropic
from fakes.gemini_fake import FakeGemini
from fakes.openai_fake import FakeOpenAI
from fakes.sidecar_fake import TOKEN, FakeSidecar

__all__ = [
    "llm",
    "sidecar",
    "clock",
    "fake_openai",
    "fake_anthropic",
    "fake_gemini",
    "FakeClock",
    "assert_event_shape",
    "sent_events",
    "openai_client",
    "anthropic_client",
    "gemini_client",
    "TOKEN",
]


class FakeClock:
    """The monotonic clock the wrappers read; a test moves it by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def llm(monkeypatch, tmp_path):
    """A fresh vigilo.llm runtime (config, buffer, counters) for each test, whose data dir (where undelivered
    events are spilled) is the test's own; at the end its sender stops and nothing is delivered or spilled."""
    import vigilo.llm
    from vigilo.llm import _delivery

    monkeypatch.delenv("VIGILO_CAPTURE_CONTENT", raising=False)
    monkeypatch.setenv("VIGILO_DATA_DIR", str(tmp_path / "llm-data"))
    monkeypatch.setattr(_delivery, "_runtime", None)
    yield vigilo.llm
    rt = _delivery._runtime
    if rt is not None:
        rt.close()


@pytest.fixture
def sidecar(llm):
    server = FakeSidecar()
    server.server.start()
    llm.configure(url=server.url, token=TOKEN)
    yield server
    server.server.stop()


@pytest.fixture
def clock(llm):
    fake = FakeClock()
    llm._delivery.runtime().config.clock = fake
    return fake


@pytest.fixture
def fake_openai():
    fake = FakeOpenAI()
    with fake.server:
        yield fake


@pytest.fixture
def fake_anthropic():
    fake = FakeAnthropic()
    with fake.server:
        yield fake


@pytest.fixture
def fake_gemini():
    fake = FakeGemini()
    with fake.server:
        yield fake


def openai_client(fake, cls=openai.OpenAI):
    return cls(api_key="sk-fake-key", base_url=fake.base_url, max_retries=0)


def anthropic_client(fake, cls=anthropic.Anthropic):
    return cls(api_key="sk-ant-fake", base_url=fake.base_url, max_retries=0)


def gemini_client(fake):
    # No retry options: google-genai then makes exactly one attempt.
    return genai.Client(api_key="fake-gemini-key", http_options=types.HttpOptions(base_url=fake.base_url, api_version="v1beta"))


def sent_events(llm, sidecar) -> "list[dict[str, Any]]":
    """Flush the runtime and return what the fake sidecar received, each event checked against the contract."""
    assert llm.flush(5.0) is True, llm.stats()
    events = sidecar.events()
    for event in events:
        assert_event_shape(event)
    return events


_KEYS = {
    "id", "provider", "operation", "requestModel", "responseModel", "startedAt", "ttftMs", "latencyMs", "stream",
    "status", "error", "usage", "usageEstimated", "conversationId", "fingerprint", "tags", "messages", "output", "sdk",
}
_ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
# The Python client's ids are RFC 9562 version 8 (a per-process random prefix and a counter), the JS client's version 4.
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[48][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def assert_event_shape(event: "dict[str, Any]") -> None:
    """The LlmCallEvent contract (src/shared/llm-api.ts), field by field."""
    # Always there, plus the optional keys (usageEvents on Anthropic streams, betas when sent, groundingQueries on
    # grounded Gemini responses).
    assert _KEYS | {"chain", "replyHash"} <= set(event) <= _KEYS | {"chain", "replyHash", "usageEvents", "betas", "groundingQueries"}, set(event) ^ _KEYS
    assert "groundingQueries" not in event or (isinstance(event["groundingQueries"], int) and event["groundingQueries"] >= 0)
    assert event["chain"] is None or all(re.fullmatch(r"[0-9a-f]{64}", h) for h in event["chain"])
    assert _UUID.match(event["id"])
    assert event["provider"] in ("openai", "anthropic", "google")
    assert event["operation"] in ("chat.completions", "responses", "messages", "generateContent")
    for key in ("requestModel", "responseModel", "conversationId", "output"):
        assert event[key] is None or isinstance(event[key], str), key
    assert _ISO_Z.match(event["startedAt"]), event["startedAt"]
    assert event["ttftMs"] is None or (isinstance(event["ttftMs"], float) and event["ttftMs"] >= 0)
    assert isinstance(event["latencyMs"], float) and event["latencyMs"] >= 0
    assert isinstance(event["stream"], bool) and isinstance(event["usageEstimated"], bool)
    assert event["status"] in ("ok", "error")
    if event["status"] == "error":
        assert set(event["error"]) == {"class", "httpStatus"}
        assert isinstance(event["error"]["class"], str)
        assert event["error"]["httpStatus"] is None or isinstance(event["error"]["httpStatus"], int)
    else:
        assert event["error"] is None
    assert event["usage"] is None or isinstance(event["usage"], dict)
    assert event["fingerprint"] is None or re.match(r"^[0-9a-f]{64}$", event["fingerprint"])
    assert isinstance(event["tags"], dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in event["tags"].items())
    if event["messages"] is not None:
        for message in event["messages"]:
            assert set(message) == {"role", "content"} and isinstance(message["role"], str) and isinstance(message["content"], str)
    assert event["sdk"]["language"] == "python"
    assert event["sdk"]["name"] in ("openai", "anthropic", "google-genai", "google-generativeai", "litellm")
