"""vigilo.wrap(genai.GenerativeModel(...)) and track() with the legacy google-generativeai SDK (the Colab/Kaggle one).

Sync calls go through the SDK's REST transport to the loopback Gemini fake ($alt=json;enum-encoding=int, a streamed
JSON array); async calls through its gRPC transport to a loopback gRPC server answering the same script.
"""
from __future__ import annotations

import asyncio
import hashlib
import warnings

import grpc
import pytest
from google.api_core import exceptions as gexc

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the SDK warns that it is deprecated, at import
    import google.generativeai as genai
from google.ai.generativelanguage_v1beta.services.generative_service.transports.grpc_asyncio import GenerativeServiceGrpcAsyncIOTransport

from fakes.gemini_grpc_fake import FakeGeminiGrpc
from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import sent_events

MODEL = "gemini-2.5-flash"
FINGERPRINT = hashlib.sha256("google\nAnswer in German.\nSay hello.".encode()).hexdigest()


@pytest.fixture
def rest(fake_gemini):
    """The legacy SDK pointed at the REST fake (its default transport is gRPC to Google)."""
    genai.configure(api_key="fake-gemini-key", transport="rest", client_options={"api_endpoint": fake_gemini.server.url})
    return fake_gemini


@pytest.fixture
def grpc_fake(fake_gemini):
    server = FakeGeminiGrpc(fake_gemini).start()
    yield server
    server.stop()


def model(**kwargs):
    return genai.GenerativeModel(MODEL, system_instruction="Answer in German.", **kwargs)


def test_generate_content_comes_back_unchanged_with_usage_as_the_api_sent_it(llm, sidecar, rest):
    plain = model().generate_content("Say hello.")
    wrapped = llm.wrap(model())
    assert isinstance(wrapped, genai.GenerativeModel) and llm.wrap(wrapped) is wrapped
    response = wrapped.generate_content("Say hello.")
    assert type(response) is type(plain) and response.text == plain.text
    assert response.usage_metadata == plain.usage_metadata

    [event] = sent_events(llm, sidecar)
    assert (event["provider"], event["operation"], event["stream"], event["status"]) == ("google", "generateContent", False, "ok")
    assert event["requestModel"] == f"models/{MODEL}" and event["responseModel"] == "gemini-2.5-flash"
    assert event["usage"] == rest.rest_usage()  # camelCase, the fields this SDK's protos know
    assert event["messages"] == [{"role": "system", "content": "Answer in German."}, {"role": "user", "content": "Say hello."}]
    assert event["output"] == "Hallo vom Fake." and event["fingerprint"] == FINGERPRINT
    assert event["sdk"] == {"language": "python", "name": "google-generativeai", "version": genai.__version__}
    assert rest.server.requests[-1].query == {"$alt": ["json;enum-encoding=int"]}


def test_a_stream_is_the_same_object_and_reports_the_last_chunk_usage(llm, sidecar, rest, clock):
    expected = [chunk.text for chunk in model().generate_content("Say hello.", stream=True)]
    response = llm.wrap(model()).generate_content("Say hello.", stream=True)
    clock.advance(0.5)
    texts = []
    for chunk in response:
        texts.append(chunk.text)
        clock.advance(0.25)
    assert texts == expected == ["Hallo", " vom", " Fake."]
    assert response.text == "Hallo vom Fake."  # the SDK's own accumulated response still works
    [event] = sent_events(llm, sidecar)
    assert event["stream"] is True and event["usage"] == rest.rest_usage()
    assert event["ttftMs"] == pytest.approx(0.0)  # the SDK reads the first chunk before returning
    # The SDK reads one chunk ahead: the stream's end is seen as the user takes the last chunk.
    assert event["latencyMs"] == pytest.approx(1000.0) and event["output"] == "Hallo vom Fake."
    assert rest.server.requests[-1].path == f"/v1beta/models/{MODEL}:streamGenerateContent"


@pytest.mark.parametrize("status, error_class", [(429, gexc.TooManyRequests), (500, gexc.InternalServerError)])
def test_provider_errors_reach_the_user_unchanged_and_are_recorded(llm, sidecar, rest, status, error_class):
    wrapped = llm.wrap(model())
    rest.fail_next(status)
    with pytest.raises(error_class):
        wrapped.generate_content("Say hello.")
    rest.fail_next(status)
    with pytest.raises(error_class):
        wrapped.generate_content("Say hello.", stream=True)
    for event in sent_events(llm, sidecar):
        assert event["status"] == "error" and event["error"] == {"class": error_class.__name__, "httpStatus": status}
        assert event["usage"] is None


def test_each_chat_session_is_one_conversation_across_plain_and_streamed_messages(llm, sidecar, rest):
    wrapped = llm.wrap(model())
    chat = wrapped.start_chat()
    chat.send_message("Say hello.")
    for _ in chat.send_message("And goodbye.", stream=True):
        pass
    other = wrapped.start_chat()
    other.send_message("Say hello.")  # same first message, another session: another conversation
    with llm.track(conversation_id="support-7"):
        chat.send_message("Once more.")  # the user's own id wins
    first, second, third, fourth = sent_events(llm, sidecar)
    assert first["conversationId"] == second["conversationId"] != third["conversationId"]
    assert first["conversationId"].startswith("chat-") and third["conversationId"].startswith("chat-")
    assert fourth["conversationId"] == "support-7"
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][-1]["content"] == "And goodbye." and second["stream"] is True
    assert first["fingerprint"] == second["fingerprint"] == third["fingerprint"] == FINGERPRINT
    assert len(chat.history) == 6  # the SDK's session kept its history


def test_async_calls_and_async_chat_through_the_grpc_transport(llm, sidecar, grpc_fake):
    async def run():
        genai.configure(transport=GenerativeServiceGrpcAsyncIOTransport(channel=grpc.aio.insecure_channel(grpc_fake.address)))
        wrapped = llm.wrap(model())
        response = await wrapped.generate_content_async("Say hello.")
        stream = await wrapped.generate_content_async("Say hello.", stream=True)
        texts = [chunk.text async for chunk in stream]
        chat = wrapped.start_chat()
        await chat.send_message_async("Say hello.")
        await chat.send_message_async("And goodbye.")
        grpc_fake.rest.fail_next(429)
        with pytest.raises(gexc.ResourceExhausted):
            await wrapped.generate_content_async("Say hello.")
        return response, texts

    response, texts = asyncio.run(run())
    assert response.text and texts == ["Hallo", " vom", " Fake."]
    plain, streamed, chat1, chat2, failed = sent_events(llm, sidecar)
    assert [plain["stream"], streamed["stream"]] == [False, True]
    assert plain["usage"] == streamed["usage"] == chat2["usage"] == grpc_fake.rest.rest_usage()
    assert plain["fingerprint"] == FINGERPRINT and streamed["output"] == "Hallo vom Fake."
    assert chat1["conversationId"] == chat2["conversationId"] and chat1["conversationId"].startswith("chat-")
    assert failed["error"] == {"class": "ResourceExhausted", "httpStatus": 429}
    assert len(grpc_fake.requests) == 5


def test_unwrapped_models_and_sessions_inside_track_only(llm, sidecar, rest):
    plain = model()
    plain.generate_content("Say hello.")  # outside: not recorded
    with llm.track(tags={"nb": "colab"}):
        plain.generate_content("Say hello.")
        list(plain.generate_content("Say hello.", stream=True))
        chat = plain.start_chat()
        chat.send_message("Say hello.")
        chat.send_message("Again.")
    chat.send_message("Outside.")  # not recorded
    events = sent_events(llm, sidecar)
    assert [(e["stream"], e["tags"]) for e in events] == [(False, {"nb": "colab"}), (True, {"nb": "colab"}), (False, {"nb": "colab"}), (False, {"nb": "colab"})]
    assert [e["conversationId"] for e in events[:2]] == [None, None]
    assert events[2]["conversationId"] == events[3]["conversationId"] and events[2]["conversationId"].startswith("chat-")
    assert all(e["usage"] == rest.rest_usage() for e in events)
    # A model wrapped after the SDK class was patched still counts once.
    late = llm.wrap(model())
    with llm.track():
        late.generate_content("Say hello.")
    assert len(sent_events(llm, sidecar)) == 5
    assert len(rest.server.requests) == 7
