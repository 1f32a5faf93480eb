"""Gemini's Google Search grounding, read off real recorded responses as the raw fact the sidecar prices.

The chunks are a real recorded grounded stream (test/fixtures/llm-recorded/google/google-stream-grounded.json,
pydantic/pydantic-ai's cassette, cited there), parsed into the google-genai SDK's own types.
"""
import json
from pathlib import Path

from google.genai import types

from llm_fixtures import llm, sidecar  # noqa: F401
from vigilo.llm._gemini import grounding_queries

ROOT = Path(__file__).resolve().parent.parent
RECORDED = json.loads((ROOT / "test/fixtures/llm-recorded/google/google-stream-grounded.json").read_text())
CHUNKS = [json.loads(line[5:]) for line in RECORDED["response"]["body"].splitlines() if line.startswith("data:")]


def test_only_the_chunk_carrying_grounding_metadata_counts_its_queries():
    counts = [grounding_queries(types.GenerateContentResponse.model_validate(chunk)) for chunk in CHUNKS]
    assert [c for c in counts if c is not None] == [1]
    assert counts[-1] == 1


def test_the_raw_json_reads_the_same_as_the_sdk_objects():
    assert [grounding_queries(chunk) for chunk in CHUNKS] == [
        grounding_queries(types.GenerateContentResponse.model_validate(chunk)) for chunk in CHUNKS
    ]


def test_no_grounding_metadata_is_none_and_grounding_without_queries_is_zero():
    assert grounding_queries(types.GenerateContentResponse.model_validate({"candidates": [{"content": {"parts": [{"text": "hi"}]}}]})) is None
    assert grounding_queries({"candidates": [{"groundingMetadata": {"groundingChunks": [{"web": {"uri": "https://example.org"}}]}}]}) == 0
    assert grounding_queries(None) is None


def test_a_wrapped_grounded_stream_sends_the_query_count_and_a_plain_call_sends_none(llm, sidecar):  # noqa: F811
    """The real google-genai SDK reads the recorded grounded stream from a loopback server; the event says 1 query."""
    from google import genai

    from fakes.server import LoopbackServer, Reply
    from llm_fixtures import sent_events

    reply = Reply(200, RECORDED["response"]["body"].encode("utf-8"), headers={"Content-Type": RECORDED["response"]["contentType"]})
    with LoopbackServer(lambda _request: reply) as server:
        client = llm.wrap(genai.Client(api_key="test-not-a-key", http_options={"base_url": server.url}))
        for _ in client.models.generate_content_stream(model="gemini-2.5-pro", contents="weather in San Francisco today"):
            pass
    plain = Reply(200, json.dumps({"candidates": [{"content": {"parts": [{"text": "hi"}], "role": "model"}}], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1}}).encode(), headers={"Content-Type": "application/json"})
    with LoopbackServer(lambda _request: plain) as server:
        second = llm.wrap(genai.Client(api_key="test-not-a-key", http_options={"base_url": server.url}))
        second.models.generate_content(model="gemini-2.5-flash", contents="hi")
    grounded, ungrounded = sent_events(llm, sidecar)
    assert grounded["groundingQueries"] == 1
    assert "groundingQueries" not in ungrounded
