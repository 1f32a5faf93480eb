"""vigilo.wrap(Anthropic()) / AsyncAnthropic against a loopback server speaking Anthropic's wire format."""
from __future__ import annotations

import asyncio
import hashlib

import anthropic
import pytest

from fakes.anthropic_fake import ERRORS
from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import anthropic_client, sent_events

SYSTEM = [{"type": "text", "text": "You are a "}, {"type": "text", "text": "careful assistant.", "cache_control": {"type": "ephemeral"}}]
MESSAGES = [{"role": "user", "content": [{"type": "text", "text": "Summarise the log."}]}]
FINGERPRINT = hashlib.sha256("anthropic\nYou are a careful assistant.\nSummarise the log.".encode()).hexdigest()


def _call(client, **extra):
    return client.messages.create(model="claude-sonnet-4-6", max_tokens=256, system=SYSTEM, messages=MESSAGES, **extra)


def test_a_message_comes_back_unchanged_with_cache_write_and_read_tokens_untouched(llm, sidecar, fake_anthropic):
    plain = _call(anthropic_client(fake_anthropic))
    client = llm.wrap(anthropic_client(fake_anthropic))
    assert isinstance(client, anthropic.Anthropic) and llm.wrap(client) is client
    message = _call(client)
    assert type(message) is type(plain) and message.to_dict() == plain.to_dict()

    [event] = sent_events(llm, sidecar)
    assert event["provider"] == "anthropic" and event["operation"] == "messages"
    assert event["requestModel"] == "claude-sonnet-4-6" and event["responseModel"] == "claude-sonnet-4-6-20260201"
    assert event["usage"] == fake_anthropic.usage
    assert event["usage"]["cache_creation_input_tokens"] == 1500 and event["usage"]["cache_read_input_tokens"] == 3000
    assert event["messages"] == [
        {"role": "system", "content": "You are a careful assistant."},
        {"role": "user", "content": "Summarise the log."},
    ]
    assert event["output"] == "Bonjour depuis le faux."
    assert event["fingerprint"] == FINGERPRINT
    assert event["sdk"] == {"language": "python", "name": "anthropic", "version": anthropic.__version__}


def test_a_raw_stream_merges_message_start_and_message_delta_usage(llm, sidecar, fake_anthropic, clock):
    client = llm.wrap(anthropic_client(fake_anthropic))
    stream = _call(client, stream=True)
    assert isinstance(stream, anthropic.Stream)
    kinds = []
    for event in stream:
        kinds.append(event.type)
        clock.advance(0.1)
    assert kinds == [
        "message_start", "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
    ]
    [event] = sent_events(llm, sidecar)
    # message_start said output_tokens=1 (a placeholder); message_delta the final 4. Both go as sent; the sidecar merges.
    start = {**fake_anthropic.usage, "output_tokens": 1}
    assert event["usage"] == start
    assert event["usageEvents"] == [
        {"type": "message_start", "usage": start},
        {"type": "message_delta", "usage": {"output_tokens": fake_anthropic.usage["output_tokens"]}},
    ]
    assert event["stream"] is True and event["output"] == "Bonjour depuis le faux."
    assert event["ttftMs"] == pytest.approx(200.0) and event["latencyMs"] == pytest.approx(900.0)


def test_the_messages_stream_helper_works_as_before_and_is_recorded(llm, sidecar, fake_anthropic):
    client = llm.wrap(anthropic_client(fake_anthropic))
    with client.messages.stream(model="claude-sonnet-4-6", max_tokens=256, system=SYSTEM, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Bonjour depuis le faux."
    assert final.usage.output_tokens == 4 and final.usage.cache_read_input_tokens == 3000
    [event] = sent_events(llm, sidecar)
    assert event["stream"] is True and event["usageEvents"][-1] == {"type": "message_delta", "usage": {"output_tokens": fake_anthropic.usage["output_tokens"]}}
    assert event["fingerprint"] == FINGERPRINT and event["output"] == text


@pytest.mark.parametrize("status, error_class", [(429, anthropic.RateLimitError), (500, anthropic.InternalServerError)])
def test_provider_errors_reach_the_user_unchanged_and_are_recorded(llm, sidecar, fake_anthropic, status, error_class):
    client = llm.wrap(anthropic_client(fake_anthropic))
    fake_anthropic.fail_next(status)
    with pytest.raises(error_class) as raised:
        _call(client)
    assert raised.value.status_code == status and raised.value.body == ERRORS[status]
    fake_anthropic.fail_next(status)
    with pytest.raises(error_class):
        with client.messages.stream(model="claude-sonnet-4-6", max_tokens=256, messages=MESSAGES) as stream:
            stream.until_done()
    plain, helper = sent_events(llm, sidecar)
    for event in (plain, helper):
        assert event["status"] == "error" and event["error"] == {"class": error_class.__name__, "httpStatus": status}
    assert helper["stream"] is True


def test_async_client_plain_raw_stream_and_stream_helper(llm, sidecar, fake_anthropic):
    async def run():
        client = llm.wrap(anthropic_client(fake_anthropic, anthropic.AsyncAnthropic))
        assert isinstance(client, anthropic.AsyncAnthropic)
        message = await _call(client)
        stream = await _call(client, stream=True)
        assert isinstance(stream, anthropic.AsyncStream)
        kinds = [event.type async for event in stream]
        async with client.messages.stream(model="claude-sonnet-4-6", max_tokens=256, system=SYSTEM, messages=MESSAGES) as helper:
            text = "".join([t async for t in helper.text_stream])
        return message, kinds, text

    message, kinds, text = asyncio.run(run())
    assert message.content[0].text == "Bonjour depuis le faux." and kinds[-1] == "message_stop"
    assert text == "Bonjour depuis le faux."
    plain, raw, helper = sent_events(llm, sidecar)
    assert [e["stream"] for e in (plain, raw, helper)] == [False, True, True]
    assert plain["usage"] == fake_anthropic.usage
    for event in (raw, helper):
        assert event["usageEvents"][-1]["usage"] == {"output_tokens": fake_anthropic.usage["output_tokens"]}
    for event in (plain, raw, helper):
        assert event["fingerprint"] == FINGERPRINT


def test_a_system_prompt_given_as_a_string_counts_for_the_fingerprint(llm, sidecar, fake_anthropic):
    client = llm.wrap(anthropic_client(fake_anthropic))
    client.messages.create(
        model="claude-sonnet-4-6", max_tokens=64, system="You are a careful assistant.",
        messages=[{"role": "user", "content": "Summarise the log."}, {"role": "assistant", "content": "Sure."}, {"role": "user", "content": "Go on."}],
    )
    [event] = sent_events(llm, sidecar)
    assert event["fingerprint"] == FINGERPRINT, "same system prompt and first user message as the other calls"


def test_the_anthropic_beta_values_a_request_sends_are_reported(llm, sidecar, fake_anthropic):
    plain = llm.wrap(anthropic_client(fake_anthropic))
    _call(plain, extra_headers={"anthropic-beta": "context-1m-2025-08-07, prompt-caching-2024-07-31"})
    _call(plain)
    defaults = llm.wrap(anthropic.Anthropic(api_key="sk-ant-test", base_url=fake_anthropic.base_url, max_retries=0, default_headers={"anthropic-beta": "context-1m-2025-08-07"}))
    _call(defaults)
    with_header, without, from_client = sent_events(llm, sidecar)
    assert with_header["betas"] == ["context-1m-2025-08-07", "prompt-caching-2024-07-31"]
    assert "betas" not in without
    assert from_client["betas"] == ["context-1m-2025-08-07"]
