"""google-generativeai (``genai.GenerativeModel``): generate_content(_async), streamed or not, and chat sessions.

The legacy SDK (the one years of Colab and Kaggle notebooks use) returns a
``GenerateContentResponse`` wrapper; with ``stream=True`` the SDK has already
read the first chunk when the call returns, and the rest come from the
wrapper's private ``_iterator``, which is observed in place (the user keeps
the same object). ``start_chat()`` sessions call ``model.generate_content``,
so they are tracked with the model, each session as one conversation
(``_sessions``).

Usage: the SDK's ``usage_metadata`` proto, sent as the API's camelCase JSON.
This SDK's protos know no ``thoughtsTokenCount``: the sidecar has only
``totalTokenCount`` to see thinking tokens by (docs/LLM.md).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Optional

from .._llm_sdks import SDK_MODULES
from ._gemini import candidate_parts, grounding_queries, messages
from ._record import get, text_of
from ._sessions import patch_session_classes
from ._wrapping import Spec, async_method, patch, patch_classes, sync_method

PROVIDER = "google"
SDK = "google-generativeai"
MODULE = SDK_MODULES[SDK]
_MODULE = "google.generativeai.generative_models"
SESSION_CLASSES = ((_MODULE, "ChatSession", ("send_message", "send_message_async"), "model"),)


def proto_json(message: Any) -> Optional[dict]:
    """A proto-plus message as the API's JSON (camelCase, only the fields set); dicts pass through."""
    if message is None or isinstance(message, dict):
        return message
    to_dict = getattr(type(message), "to_dict", None)
    if not callable(to_dict):
        return None
    try:
        return to_dict(message, use_integers_for_enums=False, preserving_proto_field_name=False, always_print_fields_with_no_presence=False)
    except TypeError:  # proto-plus before 1.24
        return to_dict(message, use_integers_for_enums=False, preserving_proto_field_name=False, including_default_value_fields=False)


def _plain(value: Any) -> Any:
    """Contents and parts as plain lists and dicts (proto-plus repeated fields are not lists), for ``_gemini``'s rules."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return value
    if isinstance(value, Sequence):
        return [_plain(v) for v in value]
    parts = get(value, "parts")
    if parts is not None and not isinstance(parts, (str, bytes)):
        return {"role": get(value, "role") or "", "parts": _plain(parts)}
    text = get(value, "text")
    return {"text": text} if isinstance(text, str) else value


def _messages(snapshot: dict) -> "list[dict]":
    return messages({"contents": _plain(snapshot.get("contents")), "system": _plain(snapshot.get("system"))})


def _parts(chunk: Any) -> Optional[list]:
    parts = candidate_parts(chunk)
    return None if parts is None else _plain(parts)


def _result(response: Any) -> Any:
    """The accumulated protos.GenerateContentResponse inside the SDK's wrapper (or the chunk itself)."""
    return getattr(response, "_result", response)


class _Usage:
    """A chunk's usage_metadata proto, turned into the API's JSON only when the event is built (sender thread):
    ``to_json_dict`` in ``_record`` calls ``to_dict``."""

    __slots__ = ("message",)

    def __init__(self, message: Any) -> None:
        self.message = message

    def to_dict(self, **_: Any) -> dict:
        return proto_json(self.message) or {}


def _usage(chunk: Any) -> Any:
    """The chunk's usage, or None when it has none (an unset usage_metadata is an empty message)."""
    try:
        if "usage_metadata" not in chunk:
            return None
    except TypeError:  # not a proto-plus message
        pass
    usage = get(chunk, "usage_metadata")
    return None if usage is None else _Usage(usage)


def _read(response: Any) -> tuple:
    result = _result(response)
    parts = _parts(result)
    grounding = grounding_queries(result)
    facts = None if grounding is None else {"groundingQueries": grounding}
    return get(result, "model_version") or None, _usage(result), None if parts is None else text_of(parts), facts


def _observe_chunk(chunk: Any, record: Any, state: Any) -> bool:
    """One raw chunk (protos.GenerateContentResponse). Reading a proto-plus field costs tens of µs, so the caller's
    thread only keeps the chunk and its time; usage (a running total: the last one counts), model and text are read
    from the kept chunks on the sender thread (``_read_chunks``). Every chunk counts as output for the time to first
    token (this API's chunks carry text)."""
    if record.read_response is not _read_chunks:
        record.response, record.read_response = [], _read_chunks
    record.response.append(chunk)
    record.mark_item(True)
    return True


def _read_chunks(chunks: "list[Any]") -> tuple:
    model, usage, texts, grounding = None, None, [], None
    for chunk in chunks:
        model = get(chunk, "model_version") or model
        usage = _usage(chunk) or usage
        parts = _parts(chunk)
        if parts:
            texts.append(text_of(parts))
        queries = grounding_queries(chunk)
        if queries is not None:
            grounding = max(grounding or 0, queries)
    facts = None if grounding is None else {"groundingQueries": grounding}
    return model, usage, "".join(texts) if texts else None, facts


def _spec_for(model: Any) -> Spec:
    """The request side needs the model: its name and system instruction live on it."""

    def prepare(args: tuple, kwargs: dict) -> tuple:
        contents = args[0] if args else kwargs.get("contents")
        if isinstance(contents, list):
            contents = list(contents)
        snapshot = {"contents": contents, "system": getattr(model, "_system_instruction", None)}
        return getattr(model, "model_name", None), snapshot, kwargs, kwargs.get("stream") is True, None

    return Spec(
        provider=PROVIDER,
        operation="generateContent",
        sdk=SDK,
        prepare=prepare,
        read_response=_read,
        observe=_observe_chunk,
        messages_of=_messages,
        read_ahead=lambda response: (getattr(response, "_chunks", None) or [])[:1],
    )


def method(is_async: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``make`` for generate_content / generate_content_async (bound to their model)."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        spec = _spec_for(getattr(original, "__self__", None))
        return (async_method if is_async else sync_method)(spec)(original)

    return make


def client_kind(cls: type) -> Optional[bool]:
    """A GenerativeModel (one class for both call styles: never "the async client"), or None."""
    if (cls.__module__ or "").split(".")[:2] == ["google", "generativeai"] and cls.__name__ == "GenerativeModel":
        return False
    return None


def instrument_classes() -> None:
    """track(): GenerativeModel's methods on the class, and the chat session class."""
    patch_session_classes(SESSION_CLASSES)
    patch_classes([(SDK, _MODULE, "GenerativeModel", "generate_content", method(False)), (SDK, _MODULE, "GenerativeModel", "generate_content_async", method(True))])


def instrument(model: Any, is_async: bool) -> "list[str]":
    """Patch one GenerativeModel, both call styles; its start_chat() sessions call them, each session one conversation."""
    missing = [name for name, make in (("generate_content", method(False)), ("generate_content_async", method(True))) if not patch(model, name, make)]
    patch_session_classes(SESSION_CLASSES)
    return missing
