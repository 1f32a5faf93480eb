"""openai (sync ``OpenAI`` and ``AsyncOpenAI``): chat.completions.create and responses.create."""
from __future__ import annotations

from typing import Any, Optional

from .._llm_sdks import SDK_MODULES
from ._record import get, listed, role_messages, text_of
from ._wrapping import Spec, async_method, patch, patch_classes, sync_method

PROVIDER = "openai"
SDK = "openai"
MODULE = SDK_MODULES[SDK]
_CONTENT_DELTA_KEYS = ("content", "tool_calls", "function_call", "refusal", "reasoning_content", "audio")
_END_EVENTS = ("response.completed", "response.incomplete", "response.failed")


# ------------------------------------------------------------ chat.completions
def _prepare_chat(args: tuple, kwargs: dict) -> tuple:
    messages = listed(kwargs.get("messages"))
    send = dict(kwargs)
    if messages is not None:
        send["messages"] = messages
    stream = kwargs.get("stream") is True
    state = {"hide_usage_chunk": False}
    if stream:
        options = kwargs.get("stream_options")
        if not (isinstance(options, dict) and options.get("include_usage") is True):
            # Without include_usage a stream reports no tokens: ask for the usage chunk
            # ourselves and keep that extra chunk (empty `choices`) from the caller.
            send["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
            state["hide_usage_chunk"] = True
    return kwargs.get("model"), {"messages": messages}, send, stream, state


def _chat_messages(snapshot: dict) -> "list[dict]":
    return role_messages(snapshot.get("messages"))


def _read_chat(response: Any) -> tuple:
    choices = get(response, "choices") or []
    text = get(get(choices[0], "message"), "content") if choices else None
    return get(response, "model"), get(response, "usage"), text if isinstance(text, str) else None


def _observe_chat(chunk: Any, record: Any, state: dict) -> bool:
    usage = get(chunk, "usage")
    record.note(get(chunk, "model"), usage)
    choices = get(chunk, "choices") or []
    if not choices and usage is not None and state["hide_usage_chunk"]:
        return False
    content = False
    for choice in choices:
        delta = get(choice, "delta")
        if any(get(delta, key) for key in _CONTENT_DELTA_KEYS):
            content = True
        if record.capture and get(choice, "index", 0) == 0:
            piece = get(delta, "content")
            if isinstance(piece, str):
                record.output_parts.append(piece)
    record.mark_item(content)
    return True


# ------------------------------------------------------------------ responses
def _prepare_responses(args: tuple, kwargs: dict) -> tuple:
    send = dict(kwargs)
    items = listed(kwargs.get("input"))
    if items is not None:
        send["input"] = items
    snapshot = {"input": items, "instructions": kwargs.get("instructions")}
    return kwargs.get("model"), snapshot, send, kwargs.get("stream") is True, None


def _responses_messages(snapshot: dict) -> "list[dict]":
    out = []
    instructions = snapshot.get("instructions")
    if isinstance(instructions, str) and instructions:
        out.append({"role": "system", "content": instructions})
    items = snapshot.get("input")
    if isinstance(items, str):
        out.append({"role": "user", "content": items})
        return out
    for item in items or []:
        role = get(item, "role")  # items without a role (tool calls and their outputs) are not messages
        if isinstance(role, str):
            out.append({"role": role, "content": text_of(get(item, "content"))})
    return out


def _responses_text(response: Any) -> Optional[str]:
    parts = []
    for item in get(response, "output") or []:
        if get(item, "type") == "message":
            parts.extend(text_of(c) for c in get(item, "content") or [] if get(c, "type") == "output_text")
    return "".join(parts) if parts else None


def _read_responses(response: Any) -> tuple:
    return get(response, "model"), get(response, "usage"), _responses_text(response)


def _observe_responses(event: Any, record: Any, state: Any) -> bool:
    kind = get(event, "type") or ""
    if kind in _END_EVENTS or kind in ("response.created", "response.in_progress"):
        response = get(event, "response")
        record.note(get(response, "model"), get(response, "usage"))
        if kind == "response.failed":
            record.error = {"class": "ResponseFailed", "httpStatus": None}
        if kind in _END_EVENTS and record.capture and not record.output_parts:
            text = _responses_text(response)
            if text:
                record.output_parts.append(text)
    if kind == "response.output_text.delta" and record.capture:
        delta = get(event, "delta")
        if isinstance(delta, str):
            record.output_parts.append(delta)
    record.mark_item(kind.endswith(".delta"))
    return True


CHAT = Spec(
    provider=PROVIDER,
    operation="chat.completions",
    sdk=SDK,
    prepare=_prepare_chat,
    read_response=_read_chat,
    observe=_observe_chat,
    messages_of=_chat_messages,
)
RESPONSES = Spec(
    provider=PROVIDER,
    operation="responses",
    sdk=SDK,
    prepare=_prepare_responses,
    read_response=_read_responses,
    observe=_observe_responses,
    messages_of=_responses_messages,
)


def client_kind(cls: type) -> Optional[bool]:
    """For a class in a client's MRO (``AzureOpenAI`` has ``OpenAI``): whether it is the async client, or None."""
    if (cls.__module__ or "").split(".")[0] == "openai" and cls.__name__ in ("OpenAI", "AsyncOpenAI"):
        return cls.__name__ == "AsyncOpenAI"
    return None


def instrument_classes() -> None:
    """track(): create() and parse() on the resource classes, sync and async."""
    chat, responses = "openai.resources.chat.completions", "openai.resources.responses"
    patch_classes([
        (SDK, module, cls, name, method(spec))
        for module, spec, sync_cls, async_cls in ((chat, CHAT, "Completions", "AsyncCompletions"), (responses, RESPONSES, "Responses", "AsyncResponses"))
        for name in ("create", "parse")
        for cls, method in ((sync_cls, sync_method), (async_cls, async_method))
    ])


def instrument(client: Any, is_async: bool) -> "list[str]":
    """Patch this client's methods; returns the names that could not be patched."""
    method = async_method if is_async else sync_method
    missing = []
    chat = get(client, "chat")
    if not patch(get(chat, "completions"), "create", method(CHAT)):
        missing.append("chat.completions.create")
    if not patch(get(client, "responses"), "create", method(RESPONSES)):
        missing.append("responses.create")
    # parse() posts by itself (not through create); stream() helpers call create and are tracked with it.
    for owner, name, spec in ((get(chat, "completions"), "chat.completions.parse", CHAT), (get(client, "responses"), "responses.parse", RESPONSES)):
        if hasattr(owner, "parse") and not patch(owner, "parse", method(spec)):
            missing.append(name)
    return missing
