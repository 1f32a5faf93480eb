"""vigilo.wrap(genai.Client()) (sync and client.aio) against a loopback server speaking Gemini's wire format."""
from __future__ import annotations

import asyncio
import hashlib

import pytest
from google import genai
from google.genai import errors, types

from fakes.gemini_fake import ERRORS
from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import gemini_client, sent_events

MODEL = "gemini-2.5-flash"
CONFIG = types.GenerateContentConfig(system_instruction="Answer in German.")
FINGERPRINT = hashlib.sha256("google\nAnswer in German.\nSay hello.".encode()).hexdigest()


def test_generate_content_comes_back_unchanged_and_usage_metadata_arrives_in_camel_case(llm, sidecar, fake_gemini):
    unwrapped = gemini_client(fake_gemini)  # a genai.Client closes its HTTP client when collected: keep it
    plain = unwrapped.models.generate_content(model=MODEL, contents="Say hello.", config=CONFIG)
    client = llm.wrap(gemini_client(fake_gemini))
    assert isinstance(client, genai.Client) and llm.wrap(client) is client
    response = client.models.generate_content(model=MODEL, contents="Say hello.", config=CONFIG)
    assert type(response) is type(plain) and response.text == plain.text == "Hallo vom Fake."
    assert response.usage_metadata == plain.usage_metadata

    [event] = sent_events(llm, sidecar)
    assert event["provider"] == "google" and event["operation"] == "generateContent"
    assert event["requestModel"] == MODEL and event["responseModel"] == "gemini-2.5-flash"
    assert event["usage"] == fake_gemini.usage  # the API's usageMetadata, field for field
    assert event["usage"]["cachedContentTokenCount"] == 2048
    assert event["messages"] == [{"role": "system", "content": "Answer in German."}, {"role": "user", "content": "Say hello."}]
    assert event["output"] == "Hallo vom Fake." and event["fingerprint"] == FINGERPRINT
    assert event["sdk"]["name"] == "google-genai" and event["sdk"]["version"] == genai.__version__


def test_a_stream_reports_the_last_running_usage_and_time_to_first_token(llm, sidecar, fake_gemini, clock):
    client = llm.wrap(gemini_client(fake_gemini))
    stream = client.models.generate_content_stream(model=MODEL, contents="Say hello.", config=CONFIG)
    clock.advance(5.0)  # the SDK sends the request on the first pull, not at the call
    texts = []
    for chunk in stream:
        texts.append(chunk.text)
        clock.advance(0.5)
    assert texts == ["Hallo", " vom", " Fake."]
    [event] = sent_events(llm, sidecar)
    assert event["stream"] is True and event["usage"] == fake_gemini.usage
    assert event["ttftMs"] == pytest.approx(0.0) and event["latencyMs"] == pytest.approx(1500.0)
    assert event["output"] == "Hallo vom Fake."
    assert fake_gemini.server.requests[-1].path == f"/v1beta/models/{MODEL}:streamGenerateContent"


@pytest.mark.parametrize("status, error_class", [(429, errors.ClientError), (500, errors.ServerError)])
def test_provider_errors_reach_the_user_unchanged_and_are_recorded(llm, sidecar, fake_gemini, status, error_class):
    client = llm.wrap(gemini_client(fake_gemini))
    fake_gemini.fail_next(status)
    with pytest.raises(error_class) as raised:
        client.models.generate_content(model=MODEL, contents="Say hello.")
    assert raised.value.code == status and raised.value.status == ERRORS[status]["error"]["status"]
    fake_gemini.fail_next(status)
    with pytest.raises(error_class):
        list(client.models.generate_content_stream(model=MODEL, contents="Say hello."))
    plain, streamed = sent_events(llm, sidecar)
    for event in (plain, streamed):
        assert event["status"] == "error" and event["error"] == {"class": error_class.__name__, "httpStatus": status}
        assert event["usage"] is None
    assert streamed["stream"] is True


def test_async_client_plain_and_streamed(llm, sidecar, fake_gemini):
    async def run():
        client = llm.wrap(gemini_client(fake_gemini))
        response = await client.aio.models.generate_content(model=MODEL, contents="Say hello.", config=CONFIG)
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Say hello.", config=CONFIG)
        texts = [chunk.text async for chunk in stream]
        fake_gemini.fail_next(429)
        with pytest.raises(errors.ClientError):
            await client.aio.models.generate_content(model=MODEL, contents="Say hello.")
        return response, texts

    response, texts = asyncio.run(run())
    assert response.text == "Hallo vom Fake." and texts == ["Hallo", " vom", " Fake."]
    plain, streamed, failed = sent_events(llm, sidecar)
    assert plain["usage"] == streamed["usage"] == fake_gemini.usage
    assert [plain["stream"], streamed["stream"]] == [False, True]
    assert plain["fingerprint"] == streamed["fingerprint"] == FINGERPRINT
    assert failed["error"] == {"class": "ClientError", "httpStatus": 429}


def test_a_chat_session_grows_but_keeps_one_fingerprint(llm, sidecar, fake_gemini):
    client = llm.wrap(gemini_client(fake_gemini))
    chat = client.chats.create(model=MODEL, config=CONFIG)
    chat.send_message("Say hello.")
    chat.send_message("And now goodbye.")
    first, second = sent_events(llm, sidecar)
    assert first["fingerprint"] == second["fingerprint"] == FINGERPRINT
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][-1]["content"] == "And now goodbye."


def test_contents_as_content_objects_and_dicts_are_read(llm, sidecar, fake_gemini):
    client = llm.wrap(gemini_client(fake_gemini))
    client.models.generate_content(
        model=MODEL,
        contents=[
            types.Content(role="user", parts=[types.Part(text="Say "), types.Part(text="hello.")]),
            {"role": "model", "parts": [{"text": "Hallo."}]},
            {"role": "user", "parts": [{"text": "Again."}]},
        ],
        config={"system_instruction": "Answer in German."},
    )
    [event] = sent_events(llm, sidecar)
    assert event["messages"] == [
        {"role": "system", "content": "Answer in German."},
        {"role": "user", "content": "Say hello."},
        {"role": "assistant", "content": "Hallo."},
        {"role": "user", "content": "Again."},
    ]
    assert event["fingerprint"] == FINGERPRINT
