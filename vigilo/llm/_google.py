"""google-genai (``genai.Client()``; ``client.aio`` for async): models.generate_content(_stream).

One public call is one event. The SDK may send several requests for one call
(automatic continuation, which it already sums into the returned usage, and
automatic function calling, whose earlier hops' usage it does not return):
the event carries the usage the SDK hands back.
"""
from __future__ import annotations

import functools
from typing import Any, Optional

from ._record import get, text_of
from ._wrapping import Spec, async_method, patch, sync_method

PROVIDER = "google"
SDK = "google-genai"


def _prepare(args: tuple, kwargs: dict, stream: bool) -> tuple:
    contents = kwargs.get("contents")
    if isinstance(contents, list):
        contents = list(contents)
    config = kwargs.get("config")
    system = get(config, "system_instruction")
    if system is None and isinstance(config, dict):
        system = config.get("systemInstruction")
    return kwargs.get("model"), {"contents": contents, "system": system}, kwargs, stream, None


def _is_content(value: Any) -> bool:
    if isinstance(value, dict):
        return "parts" in value or "role" in value
    return not isinstance(value, str) and hasattr(value, "parts") and hasattr(value, "role")


def _content_message(content: Any) -> dict:
    role = get(content, "role")
    role = role if isinstance(role, str) and role else "user"
    return {"role": "assistant" if role == "model" else role, "content": text_of(get(content, "parts"))}


def _messages(snapshot: dict) -> "list[dict]":
    """Same rules as src/client/text.ts googleRequest: a list of str/Parts is one user turn;
    a list holding Contents gives one message per item; role "model" is reported as "assistant"."""
    out = []
    system = text_of(snapshot.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    contents = snapshot.get("contents")
    if isinstance(contents, (list, tuple)):
        if any(_is_content(c) for c in contents):
            for item in contents:
                out.append(_content_message(item) if _is_content(item) else {"role": "user", "content": text_of(item)})
        else:
            out.append({"role": "user", "content": text_of(contents)})
    elif _is_content(contents):
        out.append(_content_message(contents))
    elif contents is not None:
        out.append({"role": "user", "content": text_of(contents)})
    return out


def _candidate_parts(response: Any) -> Optional[list]:
    """The first candidate's parts ([] when it has none), or None when there is no candidate."""
    candidates = get(response, "candidates") or []
    if not candidates:
        return None
    return get(get(candidates[0], "content"), "parts") or []


def _read(response: Any) -> tuple:
    parts = _candidate_parts(response)
    return get(response, "model_version"), get(response, "usage_metadata"), None if parts is None else text_of(parts)


def _observe(chunk: Any, record: Any, state: Any) -> bool:
    # Each chunk's usageMetadata is the running total so far: the last one counts.
    record.note(get(chunk, "model_version"), get(chunk, "usage_metadata"))
    parts = _candidate_parts(chunk) or []
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
        messages_of=_messages,
        lazy_stream=stream,
    )


PLAIN = _spec(False)
STREAM = _spec(True)


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
    from ._sessions import instrument_session_classes

    instrument_session_classes()  # client.chats sessions: each one conversation
    return missing
