"""The conversation fingerprint agrees with the TypeScript side (test/vectors/fingerprint.json)."""
from __future__ import annotations

import json
from pathlib import Path

from vigilo.llm._anthropic import _messages as anthropic_messages
from vigilo.llm._gemini import messages as google_messages
from vigilo.llm._openai import _chat_messages, _responses_messages
from vigilo.llm._record import fingerprint, fingerprint_of

from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import openai_client, sent_events

VECTORS = Path(__file__).resolve().parent.parent / "test" / "vectors" / "fingerprint.json"


def test_every_shared_vector_gives_the_same_fingerprint_in_python():
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert len(vectors) >= 5
    for v in vectors:
        assert fingerprint(v["provider"], v["system"], v["firstUser"]) == v["fingerprint"], v


def test_each_provider_request_shape_reaches_the_vector_fingerprint():
    vectors = {(v["provider"], v["system"], v["firstUser"]): v["fingerprint"] for v in json.loads(VECTORS.read_text(encoding="utf-8"))}
    openai_fp = vectors[("openai", "You are a helpful assistant.", "What is the capital of France?")]
    chat = {"messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": [{"type": "text", "text": "What is the capital "}, {"type": "text", "text": "of France?"}]},
        {"role": "assistant", "content": "Paris."},
        {"role": "system", "content": "A later system message does not change the identity."},
    ]}
    assert fingerprint_of("openai", _chat_messages(chat)) == openai_fp
    responses = {"instructions": "You are a helpful assistant.", "input": [{"role": "user", "content": [{"type": "input_text", "text": "What is the capital of France?"}]}]}
    assert fingerprint_of("openai", _responses_messages(responses)) == openai_fp

    anthropic_fp = vectors[("anthropic", "You are Claude, a careful reviewer.", "Review this diff please.")]
    request = {"system": [{"type": "text", "text": "You are Claude, "}, {"type": "text", "text": "a careful reviewer."}],
               "messages": [{"role": "user", "content": "Review this diff please."}]}
    assert fingerprint_of("anthropic", anthropic_messages(request)) == anthropic_fp

    google_fp = vectors[("google", "", "Summarise the attached notes.")]
    assert fingerprint_of("google", google_messages({"contents": "Summarise the attached notes.", "system": None})) == google_fp
    assert fingerprint_of("google", google_messages({"contents": ["Summarise ", "the attached notes."], "system": None})) == google_fp


def test_several_system_messages_before_the_first_user_message_are_joined_with_a_newline():
    messages = _chat_messages({"messages": [
        {"role": "system", "content": "Line one"}, {"role": "developer", "content": "Line two"},
        {"role": "user", "content": "multi\nline\nuser"},
    ]})
    assert fingerprint_of("openai", messages) == "d4779e3fb33fb33b64b2b4f6579fb567f0b27a02f2aa76ef6f8d7312eb12dbaa"


def test_no_user_message_means_no_fingerprint():
    assert fingerprint_of("openai", _chat_messages({"messages": [{"role": "system", "content": "x"}]})) is None


CHAIN_VECTORS = Path(__file__).resolve().parent.parent / "test" / "vectors" / "chain.json"


def test_the_conversation_chain_matches_the_shared_vectors():
    from vigilo.llm._record import chain_hashes, reply_hash

    vectors = json.loads(CHAIN_VECTORS.read_text(encoding="utf-8"))
    assert len(vectors) >= 5
    for v in vectors:
        chain = chain_hashes(v["provider"], v["messages"])
        assert chain == v["chain"]
        assert reply_hash(v["provider"], chain, v["output"]) == v["replyHash"]


def test_an_event_carries_the_chain_of_its_request_and_reply(llm, sidecar, fake_openai):
    from vigilo.llm._record import chain_hashes, reply_hash

    client = llm.wrap(openai_client(fake_openai))
    messages = [{"role": "system", "content": "You plan trips."}, {"role": "user", "content": "Plan Lisbon."}]
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    [event] = sent_events(llm, sidecar)
    assert event["chain"] == chain_hashes("openai", messages)
    assert event["replyHash"] == reply_hash("openai", event["chain"], event["output"])
