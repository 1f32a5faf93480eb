"""anthropic (sync ``Anthropic`` and ``AsyncAnthropic``): messages.create and messages.stream."""
from __future__ import annotations

import functools
import time
from typing import Any, Optional

from .._llm_sdks import SDK_MODULES
from ._delivery import runtime
from ._record import get, listed, role_messages, text_of, to_json_dict
from ._wrapping import Spec, _begin, _fail, async_method, instrument_stream, patch, patch_classes, sync_method

PROVIDER = "anthropic"
SDK = "anthropic"
MODULE = SDK_MODULES[SDK]


def _prepare(args: tuple, kwargs: dict, force_stream: bool = False, default_betas: "tuple[str, ...]" = ()) -> tuple:
    send = dict(kwargs)
    messages = listed(kwargs.get("messages"))
    if messages is not None:
        send["messages"] = messages
    system = listed(kwargs.get("system"))
    if system is not None:
        send["system"] = system
    stream = force_stream or kwargs.get("stream") is True
    betas = list(default_betas) + [b for b in _betas(kwargs) if b not in default_betas]
    return kwargs.get("model"), {"messages": messages, "system": system, "betas": betas}, send, stream, {}


def _betas(kwargs: dict) -> "list[str]":
    """The anthropic-beta values a request sends (extra_headers, a betas= argument), comma-split: facts
    the sidecar uses for the context window (docs/LLM.md)."""
    out: "list[str]" = []
    headers = kwargs.get("extra_headers")
    values = [v for k, v in headers.items() if str(k).lower() == "anthropic-beta"] if isinstance(headers, dict) else []
    betas = kwargs.get("betas")
    values += list(betas) if isinstance(betas, (list, tuple)) else []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def _messages(snapshot: dict) -> "list[dict]":
    out = []
    system = text_of(snapshot.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    return out + role_messages(snapshot.get("messages"))


def _read(message: Any) -> tuple:
    blocks = get(message, "content") or []
    text = "".join(text_of(b) for b in blocks if get(b, "type") == "text")
    return get(message, "model"), get(message, "usage"), text if blocks else None


def _observe(event: Any, record: Any, state: dict) -> bool:
    kind = get(event, "type")
    if kind == "message_start":
        message = get(event, "message")
        record.note(get(message, "model"))
        usage = to_json_dict(get(message, "usage")) or {}
        record.usage = usage
        # Every usage-carrying event goes as it is; the sidecar merges them (src/core/llm/usage.ts).
        record.usage_events.append({"type": "message_start", "usage": usage})
    elif kind == "message_delta":
        usage = to_json_dict(get(event, "usage"))
        if usage:
            if record.usage is None:
                record.usage = usage
            record.usage_events.append({"type": "message_delta", "usage": usage})
    elif kind == "content_block_delta":
        delta = get(event, "delta")
        if record.capture and get(delta, "type") == "text_delta":
            text = get(delta, "text")
            if isinstance(text, str):
                record.output_parts.append(text)
        record.mark_item(True)
        return True
    record.mark_item(False)
    return True


def _spec(force_stream: bool, default_betas: "tuple[str, ...]" = ()) -> Spec:
    return Spec(
        provider=PROVIDER,
        operation="messages",
        sdk=SDK,
        prepare=functools.partial(_prepare, force_stream=force_stream, default_betas=default_betas),
        read_response=_read,
        observe=_observe,
        messages_of=_messages,
    )


MESSAGES = _spec(False)
STREAM_HELPER = _spec(True)


def _stream_helper(is_async: bool, spec: Spec = STREAM_HELPER):
    """messages.stream() returns a manager that sends the request on ``with``/``async with``.

    The manager keeps that request in a private attribute; it is swapped for one
    that times the request and instruments the raw stream the helper reads from.
    Where a future SDK lays the manager out differently, the manager is returned
    untouched and the miss is counted.
    """

    def make(original: Any) -> Any:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            runtime().check_budget()
            manager = original(*args, **kwargs)
            try:
                attr = f"_{type(manager).__name__}__api_request"
                request = getattr(manager, attr)
                record, _send, state = _begin(spec, args, kwargs)
                if record is None:
                    return manager
                if is_async:

                    async def timed_async() -> Any:
                        record.restart(time.time())
                        try:
                            raw = await request
                        except BaseException as exc:
                            _fail(record, exc)
                            raise
                        return _instrumented(raw)

                    setattr(manager, attr, timed_async())
                else:

                    def timed() -> Any:
                        record.restart(time.time())
                        try:
                            raw = request()
                        except BaseException as exc:
                            _fail(record, exc)
                            raise
                        return _instrumented(raw)

                    setattr(manager, attr, timed)

                def _instrumented(raw: Any) -> Any:
                    try:
                        return instrument_stream(spec, record, raw, state)
                    except Exception as err:
                        runtime().count("errors", error=f"anthropic messages.stream: {type(err).__name__}: {err}")
                        return raw

            except Exception as err:
                runtime().count("errors", error=f"anthropic messages.stream: {type(err).__name__}: {err}")
            return manager

        return wrapper

    return make


def client_kind(cls: type) -> Optional[bool]:
    """For a class in a client's MRO: whether it is the async client, or None when it is not this SDK's client."""
    if (cls.__module__ or "").split(".")[0] == "anthropic" and cls.__name__ in ("Anthropic", "AsyncAnthropic"):
        return cls.__name__ == "AsyncAnthropic"
    return None


def instrument_classes() -> None:
    """track(): messages.create and messages.stream on the resource classes, sync and async."""
    module = "anthropic.resources.messages"
    patch_classes([
        (SDK, module, "Messages", "create", sync_method(MESSAGES)),
        (SDK, module, "AsyncMessages", "create", async_method(MESSAGES)),
        (SDK, module, "Messages", "stream", _stream_helper(False)),
        (SDK, module, "AsyncMessages", "stream", _stream_helper(True)),
    ])


def instrument(client: Any, is_async: bool) -> "list[str]":
    missing = []
    messages = get(client, "messages")
    # Betas the client sends on every request (Anthropic(default_headers={"anthropic-beta": ...})).
    headers = getattr(client, "_custom_headers", None)
    defaults = tuple(_betas({"extra_headers": headers})) if isinstance(headers, dict) else ()
    if not patch(messages, "create", (async_method if is_async else sync_method)(_spec(False, defaults) if defaults else MESSAGES)):
        missing.append("messages.create")
    if not patch(messages, "stream", _stream_helper(is_async, _spec(True, defaults) if defaults else STREAM_HELPER)):
        missing.append("messages.stream")
    return missing
