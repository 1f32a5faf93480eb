"""vigilo.track() also tracks calls of clients that were never wrapped, inside the block only, and a wrapped
client's call still counts once (whichever of wrap() and the first track() came first)."""
from __future__ import annotations

import asyncio

import openai
import pytest

from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import anthropic_client, gemini_client, openai_client, sent_events

MESSAGES = [{"role": "user", "content": "Say hello."}]


def test_unwrapped_openai_calls_inside_track_are_recorded_and_outside_are_not(llm, sidecar, fake_openai):
    client = openai_client(fake_openai)
    before = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    with llm.track(conversation_id="plain-client", tags={"k": "v"}):
        inside = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
        client.responses.create(model="gpt-4o-mini", input="Say hello.")
        with pytest.raises(openai.RateLimitError):
            fake_openai.fail_next(429)
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    after = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert inside.to_dict() == before.to_dict() == after.to_dict()
    assert all(chunk.choices for chunk in chunks), "the injected usage chunk stays hidden"
    events = sent_events(llm, sidecar)
    assert [(e["operation"], e["stream"], e["status"], e["conversationId"], e["tags"]) for e in events] == [
        ("chat.completions", False, "ok", "plain-client", {"k": "v"}),
        ("chat.completions", True, "ok", "plain-client", {"k": "v"}),
        ("responses", False, "ok", "plain-client", {"k": "v"}),
        ("chat.completions", False, "error", "plain-client", {"k": "v"}),
    ]
    assert events[1]["usage"] == fake_openai.chat_usage  # a stream without include_usage still has its tokens
    assert events[3]["error"] == {"class": "RateLimitError", "httpStatus": 429}


def test_a_wrapped_client_counts_once_inside_track_whether_wrapped_before_or_after_the_first_block(llm, sidecar, fake_openai):
    early = llm.wrap(openai_client(fake_openai))
    with llm.track(conversation_id="once"):
        early.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        late = llm.wrap(openai_client(fake_openai))  # the SDK class is patched by now
        late.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        list(late.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    late.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # wrapped: tracked outside a block too
    events = sent_events(llm, sidecar)
    assert [e["conversationId"] for e in events] == ["once", "once", "once", None]
    assert len(fake_openai.server.requests) == 4


def test_unwrapped_async_openai_inside_track(llm, sidecar, fake_openai):
    async def run():
        client = openai_client(fake_openai, openai.AsyncOpenAI)
        async with llm.track(conversation_id="async-plain"):
            await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
            return [chunk async for chunk in stream]

    chunks = asyncio.run(run())
    assert chunks and all(chunk.choices for chunk in chunks)
    events = sent_events(llm, sidecar)
    assert [(e["stream"], e["conversationId"]) for e in events] == [(False, "async-plain"), (True, "async-plain")]
    assert events[1]["usage"] == fake_openai.chat_usage


def test_unwrapped_anthropic_create_and_stream_helper_inside_track(llm, sidecar, fake_anthropic):
    client = anthropic_client(fake_anthropic)
    ask = dict(model="claude-sonnet-4-6", max_tokens=64, messages=MESSAGES)
    client.messages.create(**ask)  # outside: not recorded
    with llm.track(conversation_id="claude-plain"):
        client.messages.create(**ask)
        with client.messages.stream(**ask) as stream:
            text = "".join(stream.text_stream)
    assert text
    events = sent_events(llm, sidecar)
    assert [(e["provider"], e["stream"], e["conversationId"]) for e in events] == [
        ("anthropic", False, "claude-plain"),
        ("anthropic", True, "claude-plain"),
    ]
    assert all(e["usage"] for e in events)


def test_unwrapped_gemini_sync_and_async_inside_track_including_chat_sessions(llm, sidecar, fake_gemini):
    client = gemini_client(fake_gemini)

    async def run_async():
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="Say hello.")
        stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="Say hello.")
        return [chunk async for chunk in stream]

    with llm.track(conversation_id="gemini-plain"):
        client.models.generate_content(model="gemini-2.5-flash", contents="Say hello.")
        list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="Say hello."))
        client.chats.create(model="gemini-2.5-flash").send_message("Say hello.")
        asyncio.run(run_async())
    client.models.generate_content(model="gemini-2.5-flash", contents="Say hello.")  # outside: not recorded
    events = sent_events(llm, sidecar)
    assert [(e["stream"], e["conversationId"]) for e in events] == [(False, "gemini-plain"), (True, "gemini-plain"), (False, "gemini-plain"), (False, "gemini-plain"), (True, "gemini-plain")]
    assert all(e["usage"] == fake_gemini.usage for e in events)


def test_the_hard_budget_refuses_an_unwrapped_call_inside_track_before_it_is_sent(llm, sidecar, fake_openai):
    sidecar.budget = {"hardStop": True, "reason": "session LLM budget of $1.00 reached"}
    client = openai_client(fake_openai)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # outside a block: untouched
    with llm.track():
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert llm.flush(5.0) is True  # the answer carries hardStop: true
    llm.configure(hard_budget=True)
    sent = len(fake_openai.server.requests)
    with llm.track(), pytest.raises(llm.BudgetExceededError, match="session LLM budget"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(fake_openai.server.requests) == sent
