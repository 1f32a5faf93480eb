"""vigilo.wrap(OpenAI()) / AsyncOpenAI against a loopback server speaking OpenAI's wire format."""
from __future__ import annotations

import asyncio
import hashlib

import openai
import pytest

from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import openai_client, sent_events

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]


def test_wrap_returns_the_same_client_with_its_type_and_wrapping_twice_counts_once(llm, sidecar, fake_openai):
    client = openai_client(fake_openai)
    wrapped = llm.wrap(client)
    assert wrapped is client and isinstance(wrapped, openai.OpenAI)
    assert llm.wrap(wrapped) is client
    wrapped.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(sent_events(llm, sidecar)) == 1


def test_a_chat_completion_comes_back_unchanged_and_its_raw_usage_reaches_the_sidecar(llm, sidecar, fake_openai):
    plain = openai_client(fake_openai).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    client = llm.wrap(openai_client(fake_openai))
    response = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert type(response) is type(plain) and response.to_dict() == plain.to_dict()

    [event] = sent_events(llm, sidecar)
    assert event["provider"] == "openai" and event["operation"] == "chat.completions"
    assert event["requestModel"] == "gpt-4o-mini" and event["responseModel"] == "gpt-4o-mini-2024-07-18"
    assert event["stream"] is False and event["status"] == "ok" and event["ttftMs"] is None
    # The provider's usage object, untouched: cached tokens included.
    assert event["usage"] == fake_openai.chat_usage
    assert event["usage"]["prompt_tokens_details"]["cached_tokens"] == 1024
    assert event["usageEstimated"] is False
    assert event["messages"] == MESSAGES and event["output"] == "Hello from the fake."
    assert event["fingerprint"] == hashlib.sha256("openai\nBe brief.\nSay hello.".encode()).hexdigest()
    assert event["sdk"] == {"language": "python", "name": "openai", "version": openai.__version__}
    assert event["conversationId"] is None and event["tags"] == {}


def test_a_stream_opened_without_include_usage_still_reports_tokens_and_hides_the_usage_chunk(llm, sidecar, fake_openai, clock):
    client = llm.wrap(openai_client(fake_openai))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert isinstance(stream, openai.Stream)
    clock.advance(0.25)
    first = next(stream)  # role-only chunk: not a token yet
    clock.advance(0.05)
    second = next(stream)  # first content token
    clock.advance(0.70)
    rest = list(stream)
    chunks = [first, second, *rest]

    # What the user sees is what a stream without include_usage gives: no usage-only chunk.
    assert all(chunk.choices for chunk in chunks)
    assert all(chunk.usage is None for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from the fake."
    assert fake_openai.server.requests[-1].body["stream_options"] == {"include_usage": True}

    [event] = sent_events(llm, sidecar)
    assert event["stream"] is True and event["usage"] == fake_openai.chat_usage
    assert event["ttftMs"] == pytest.approx(300.0) and event["latencyMs"] == pytest.approx(1000.0)
    assert event["output"] == "Hello from the fake."


def test_a_stream_that_asked_for_usage_keeps_its_usage_chunk(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    options = {"include_usage": True}
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options=options))
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 1200
    assert options == {"include_usage": True}
    [event] = sent_events(llm, sidecar)
    assert event["usage"] == fake_openai.chat_usage


def test_other_stream_options_are_kept_when_include_usage_is_added(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    options = {"include_obfuscation": False}
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options=options))
    assert fake_openai.server.requests[-1].body["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert options == {"include_obfuscation": False}, "the caller's dict is not modified"


def test_a_stream_closed_early_by_its_context_manager_is_recorded_once(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    with client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as stream:
        next(stream)
        next(stream)
    [event] = sent_events(llm, sidecar)
    assert event["status"] == "ok" and event["stream"] is True


@pytest.mark.parametrize(
    "status, error_class", [(429, openai.RateLimitError), (500, openai.InternalServerError)]
)
def test_provider_errors_reach_the_user_as_the_sdk_raises_them_and_are_recorded(llm, sidecar, fake_openai, status, error_class):
    client = llm.wrap(openai_client(fake_openai))
    fake_openai.fail_next(status)
    with pytest.raises(error_class) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raised.value.status_code == status
    assert raised.value.body == fake_openai_error(status)["error"]
    [event] = sent_events(llm, sidecar)
    assert event["status"] == "error" and event["error"] == {"class": error_class.__name__, "httpStatus": status}
    assert event["usage"] is None


def fake_openai_error(status):
    from fakes.openai_fake import ERRORS

    return ERRORS[status]


def test_responses_api_plain_and_streamed_report_cached_and_reasoning_tokens(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    response = client.responses.create(model="gpt-4.1", instructions="You are terse.", input="Say hello.")
    assert response.output_text == "Hello from the fake."
    with client.responses.create(model="gpt-4.1", input=[{"role": "user", "content": "Say hello."}], stream=True) as stream:
        kinds = [event.type for event in stream]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"

    plain, streamed = sent_events(llm, sidecar)
    for event in (plain, streamed):
        assert event["operation"] == "responses" and event["responseModel"] == "gpt-4.1-2025-04-14"
        assert event["usage"] == fake_openai.responses_usage
        assert event["output"] == "Hello from the fake."
    assert plain["messages"] == [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}]
    assert plain["fingerprint"] == hashlib.sha256("openai\nYou are terse.\nSay hello.".encode()).hexdigest()
    assert streamed["stream"] is True and streamed["ttftMs"] is not None and streamed["ttftMs"] <= streamed["latencyMs"]


def test_async_client_plain_and_streamed(llm, sidecar, fake_openai):
    async def run():
        client = llm.wrap(openai_client(fake_openai, openai.AsyncOpenAI))
        assert isinstance(client, openai.AsyncOpenAI)
        response = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        assert isinstance(stream, openai.AsyncStream)
        chunks = [chunk async for chunk in stream]
        fake_openai.fail_next(429)
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        return response, chunks

    response, chunks = asyncio.run(run())
    assert response.choices[0].message.content == "Hello from the fake."
    assert all(chunk.choices for chunk in chunks)
    plain, streamed, failed = sent_events(llm, sidecar)
    assert plain["usage"] == streamed["usage"] == fake_openai.chat_usage
    assert streamed["stream"] is True and streamed["output"] == "Hello from the fake."
    assert failed["error"] == {"class": "RateLimitError", "httpStatus": 429}


def test_track_gives_calls_a_conversation_id_and_tags_in_blocks_decorators_and_tasks(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    with llm.track(conversation_id="conv-1", tags={"team": "ml"}):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        with llm.track(tags={"step": 2}):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    @llm.track(conversation_id="conv-2")
    def decorated():
        return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    decorated()
    aclient = llm.wrap(openai_client(fake_openai, openai.AsyncOpenAI))

    async def in_task():
        with llm.track(conversation_id="conv-3"):
            await asyncio.create_task(aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    asyncio.run(in_task())
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    events = sent_events(llm, sidecar)
    assert [(e["conversationId"], e["tags"]) for e in events] == [
        ("conv-1", {"team": "ml"}),
        ("conv-1", {"team": "ml", "step": "2"}),
        ("conv-2", {}),
        ("conv-3", {}),
        (None, {}),
    ]


def test_content_capture_can_be_switched_off_by_configure_or_environment(llm, sidecar, fake_openai, monkeypatch):
    client = llm.wrap(openai_client(fake_openai))
    llm.configure(capture_content=False)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    llm.configure(capture_content=None)
    monkeypatch.setenv("VIGILO_CAPTURE_CONTENT", "0")
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    monkeypatch.delenv("VIGILO_CAPTURE_CONTENT")
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    off_plain, off_stream, on = sent_events(llm, sidecar)
    for event in (off_plain, off_stream):
        assert event["messages"] is None and event["output"] is None
        assert event["fingerprint"] == on["fingerprint"]  # identity survives without content
        assert event["usage"] == fake_openai.chat_usage
    assert on["messages"] == MESSAGES


def test_clients_made_with_with_options_are_tracked_too(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    other = client.with_options(timeout=30)
    assert isinstance(other, openai.OpenAI) and other is not client
    other.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(sent_events(llm, sidecar)) == 1


def test_messages_given_as_a_generator_reach_the_provider_and_the_event(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    client.chat.completions.create(model="gpt-4o-mini", messages=(m for m in MESSAGES))
    assert fake_openai.server.requests[-1].body["messages"] == MESSAGES
    [event] = sent_events(llm, sidecar)
    assert event["messages"] == MESSAGES


def test_the_sdk_stream_helpers_go_through_create_and_are_tracked(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    with client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Hello from the fake."
    with client.responses.stream(model="gpt-4.1", input="Say hello.") as stream:
        response = stream.get_final_response()
    assert response.output_text == "Hello from the fake."
    chat, responses = sent_events(llm, sidecar)
    assert (chat["operation"], chat["stream"], chat["usage"]) == ("chat.completions", True, fake_openai.chat_usage)
    assert (responses["operation"], responses["stream"], responses["usage"]) == ("responses", True, fake_openai.responses_usage)
