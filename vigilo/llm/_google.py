"""google-genai (``genai.Client()``; ``client.aio`` for async): models.generate_content(_stream), chats sessions.

One public call is one event. The SDK may send several requests for one call
(automatic continuation, which it already sums into the returned usage, and
automatic function calling, whose earlier hops' usage it does not return):
the event carries the usage the SDK hands back.
"""
from __future__ import annotations

import functools
from typing import Any, Optional

from .._llm_sdks import SDK_MODULES
from ._gemini import candidate_parts, grounding_queries, messages
from ._record import get, text_of
from ._sessions import patch_session_classes
from ._wrapping import Spec, async_method, patch, patch_classes, sync_method

PROVIDER = "google"
SDK = "google-genai"
MODULE = SDK_MODULES[SDK]


def _prepare(args: tuple, kwargs: dict, stream: bool) -> tuple:
    contents = kwargs.get("contents")
    if isinstance(contents, list):
        contents = list(contents)
    config = kwargs.get("config")
    system = get(config, "system_instruction")
    if system is None and isinstance(config, dict):
        system = config.get("systemInstruction")
    return kwargs.get("model"), {"contents": contents, "system": system}, kwargs, stream, None


def _read(response: Any) -> tuple:
    parts = candidate_parts(response)
    grounding = grounding_queries(response)
    facts = None if grounding is None else {"groundingQueries": grounding}
    return get(response, "model_version"), get(response, "usage_metadata"), None if parts is None else text_of(parts), facts


def _observe(chunk: Any, record: Any, state: Any) -> bool:
    # Each chunk's usageMetadata is the running total so far: the last one counts.
    record.note(get(chunk, "model_version"), get(chunk, "usage_metadata"))
    grounding = grounding_queries(chunk)
    if grounding is not None:
        # Grounding metadata arrives with a late chunk; a chunk that repeats it must not count twice.
        record.facts["groundingQueries"] = max(record.facts.get("groundingQueries", 0), grounding)
    parts = candidate_parts(chunk) or []
    if record.capture:
        text = text_of(parts)
        if text:
            record.output_parts.append(text)
    record.mark_item(bool(parts))
    return True


def _spec(stream: bool) -> Spec:
    return Spec(
        provider=PROVIDER,
        operation="generateContent",
        sdk=SDK,
        prepare=functools.partial(_prepare, stream=stream),
        read_response=_read,
        observe=_observe,
        messages_of=messages,
        lazy_stream=stream,
    )


PLAIN = _spec(False)
STREAM = _spec(True)
# (module, class, send methods, the attribute holding what the session calls): each session one conversation
SESSION_CLASSES = (
    ("google.genai.chats", "Chat", ("send_message", "send_message_stream"), "_modules"),
    ("google.genai.chats", "AsyncChat", ("send_message", "send_message_stream"), "_modules"),
)


def client_kind(cls: type) -> Optional[bool]:
    """For a class in a client's MRO: whether it is this SDK's async client, or None when it is not its client."""
    if (cls.__module__ or "").split(".")[:2] == ["google", "genai"] and cls.__name__ in ("Client", "AsyncClient"):
        return cls.__name__ == "AsyncClient"
    return None


def instrument_classes() -> None:
    """track(): the models' methods on their classes, and the chat session classes."""
    patch_session_classes(SESSION_CLASSES)
    patch_classes([
        (SDK, "google.genai.models", "Models", "generate_content", sync_method(PLAIN)),
        (SDK, "google.genai.models", "Models", "generate_content_stream", sync_method(STREAM)),
        (SDK, "google.genai.models", "AsyncModels", "generate_content", async_method(PLAIN)),
        (SDK, "google.genai.models", "AsyncModels", "generate_content_stream", async_method(STREAM)),
    ])


def instrument(client: Any, is_async: bool) -> "list[str]":
    """``genai.Client()`` gets both its sync ``models`` and ``aio.models``; a bare ``client.aio`` its own."""
    missing = []
    if is_async:
        targets = [(get(client, "models"), async_method)]
    else:
        targets = [(get(client, "models"), sync_method)]
        try:
            aio = client.aio
        except Exception:
            aio = None
        if aio is not None:
            targets.append((get(aio, "models"), async_method))
    for models, method in targets:
        for name, spec in (("generate_content", PLAIN), ("generate_content_stream", STREAM)):
            if not patch(models, name, method(spec)):
                missing.append(name)
    patch_session_classes(SESSION_CLASSES)  # client.chats sessions: each one conversation
    return missing
