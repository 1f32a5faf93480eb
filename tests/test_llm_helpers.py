"""SDK helpers and the streams a user walks away from: each counted once, with its usage, through the real SDKs.

parse(), with_raw_response, the stream helpers, google-genai chat sessions, and streams that are dropped unread or
half read (recorded with what was seen, tagged ``vigilo.stream: incomplete``). What stays missed is shown too
(``with_streaming_response`` has no usage).
"""
from __future__ import annotations

import asyncio
import gc
import warnings

import openai

from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import anthropic_client, gemini_client, openai_client, sent_events

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import google.generativeai as legacy_genai

MESSAGES = [{"role": "user", "content": "Say hello."}]
INCOMPLETE = {"vigilo.stream": "incomplete"}


def test_parse_helpers_post_by_themselves_and_are_counted_once(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    parsed = client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES)
    assert parsed.choices[0].message.content == "Hello from the fake."
    assert client.responses.parse(model="gpt-4.1", input="Say hello.").output_text == "Hello from the fake."

    async def run():
        aclient = llm.wrap(openai_client(fake_openai, openai.AsyncOpenAI))
        return await aclient.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES)

    asyncio.run(run())
    chat, responses, async_chat = sent_events(llm, sidecar)
    assert (chat["operation"], chat["usage"]) == ("chat.completions", fake_openai.chat_usage)
    assert (responses["operation"], responses["usage"]) == ("responses", fake_openai.responses_usage)
    assert async_chat["usage"] == fake_openai.chat_usage
    assert len(fake_openai.server.requests) == 3


def test_parse_of_an_unwrapped_client_inside_track(llm, sidecar, fake_openai):
    client = openai_client(fake_openai)
    with llm.track(conversation_id="parsed"):
        client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES)
    [event] = sent_events(llm, sidecar)
    assert (event["conversationId"], event["usage"]) == ("parsed", fake_openai.chat_usage)


def test_with_raw_response_gives_the_raw_response_and_the_event_its_usage(llm, sidecar, fake_openai, fake_anthropic):
    client = llm.wrap(openai_client(fake_openai))
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.http_response.status_code == 200 and raw.parse().choices[0].message.content == "Hello from the fake."
    raw_stream = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    chunks = list(raw_stream.parse())
    assert chunks and all(chunk.choices for chunk in chunks)  # the injected usage chunk stays hidden here too
    claude = llm.wrap(anthropic_client(fake_anthropic))
    ask = dict(model="claude-sonnet-4-6", max_tokens=64, messages=MESSAGES)
    assert claude.messages.with_raw_response.create(**ask).parse().content[0].text
    events = list(claude.messages.with_raw_response.create(**ask, stream=True).parse())
    assert events[-1].type == "message_stop"
    chat, chat_stream, message, message_stream = sent_events(llm, sidecar)
    assert chat["usage"] == chat_stream["usage"] == fake_openai.chat_usage
    assert chat["output"] == chat_stream["output"] == "Hello from the fake."
    assert message["usage"] == fake_anthropic.usage and message_stream["usage"]["input_tokens"] == fake_anthropic.usage["input_tokens"]
    assert [e["stream"] for e in (chat, chat_stream, message, message_stream)] == [False, True, False, True]


def test_with_streaming_response_is_sent_when_the_user_parses_it_or_drops_it(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES) as response:
        assert response.parse().usage.prompt_tokens == 1200
        assert response.parse().usage.prompt_tokens == 1200  # parsed twice, sent once
    with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES) as response:
        assert response.json()["usage"]["prompt_tokens"] == 1200  # read raw, never parsed
    del response
    gc.collect()
    parsed, raw = sent_events(llm, sidecar)
    assert parsed["status"] == "ok" and parsed["usage"] == fake_openai.chat_usage and parsed["output"] == "Hello from the fake."
    # The body the user read as raw JSON is not Vigilo's to read again: the call is sent without its tokens.
    assert raw["status"] == "ok" and raw["usage"] is None


def test_google_genai_chat_sessions_are_one_conversation_each(llm, sidecar, fake_gemini):
    client = llm.wrap(gemini_client(fake_gemini))
    chat = client.chats.create(model="gemini-2.5-flash")
    chat.send_message("Say hello.")
    list(chat.send_message_stream("And goodbye."))
    client.chats.create(model="gemini-2.5-flash").send_message("Say hello.")
    first, second, other = sent_events(llm, sidecar)
    assert first["conversationId"] == second["conversationId"] and first["conversationId"].startswith("chat-")
    assert other["conversationId"].startswith("chat-") and other["conversationId"] != first["conversationId"]
    assert second["stream"] is True and second["usage"] == fake_gemini.usage


def test_a_stream_dropped_unread_is_recorded_incomplete(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    del stream
    gc.collect()
    [event] = sent_events(llm, sidecar)
    assert event["stream"] is True and event["status"] == "ok" and event["tags"] == INCOMPLETE
    assert event["usage"] is None and event["output"] is None  # nothing was seen


def test_a_stream_read_halfway_keeps_what_was_seen(llm, sidecar, fake_openai, fake_gemini):
    client = llm.wrap(openai_client(fake_openai))
    with llm.track(tags={"k": "v"}):
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
            if chunk.choices[0].delta.content:
                break
    gemini = llm.wrap(gemini_client(fake_gemini))
    stream = gemini.models.generate_content_stream(model="gemini-2.5-flash", contents="Say hello.")
    next(stream)
    del stream
    gc.collect()
    # A dropped stream's event goes when the object is collected (a cycle: at the next gc), in no set order.
    events = {e["provider"]: e for e in sent_events(llm, sidecar)}
    openai_event, gemini_event = events["openai"], events["google"]
    assert openai_event["tags"] == {"k": "v", **INCOMPLETE} and openai_event["output"] == "Hello"
    assert gemini_event["tags"] == INCOMPLETE and gemini_event["output"] == "Hallo"
    assert gemini_event["usage"]["promptTokenCount"] == 2100  # the running usage seen so far


def test_a_legacy_gemini_stream_never_read_still_has_its_first_chunk(llm, sidecar, fake_gemini):
    legacy_genai.configure(api_key="fake-gemini-key", transport="rest", client_options={"api_endpoint": fake_gemini.server.url})
    model = llm.wrap(legacy_genai.GenerativeModel("gemini-2.5-flash"))
    response = model.generate_content("Say hello.", stream=True)
    del response
    gc.collect()
    complete = model.generate_content("Say hello.", stream=True)
    complete.resolve()
    dropped, read = sent_events(llm, sidecar)
    assert dropped["tags"] == INCOMPLETE and dropped["output"] == "Hallo" and dropped["usage"]["promptTokenCount"] == 2100
    assert read["tags"] == {} and read["output"] == "Hallo vom Fake."


def test_async_google_genai_chat_sessions_plain_and_streamed(llm, sidecar, fake_gemini):
    async def run():
        client = llm.wrap(gemini_client(fake_gemini))
        chat = client.aio.chats.create(model="gemini-2.5-flash")
        await chat.send_message("Say hello.")
        texts = [chunk.text async for chunk in await chat.send_message_stream("And goodbye.")]
        other = client.aio.chats.create(model="gemini-2.5-flash")
        await other.send_message("Say hello.")
        return texts

    assert asyncio.run(run()) == ["Hallo", " vom", " Fake."]
    first, second, other = sent_events(llm, sidecar)
    assert first["conversationId"] == second["conversationId"] and first["conversationId"].startswith("chat-")
    assert other["conversationId"] != first["conversationId"] and second["stream"] is True
    assert second["usage"] == fake_gemini.usage
