"""One call's raw facts, and the event (docs/LLM-python.md) built from them (core; imports no SDK module).

The caller's thread only takes a note: times, a shallow copy of the request
and a reference to the response. ``build()`` turns the note into the JSON
event later, on the sender thread (the event's id included), so the wrapped
call pays microseconds.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import sys
import time
from importlib import metadata
from typing import Any, Callable, Optional

from ._context import current

_SDK_VERSIONS: "dict[str, Optional[str]]" = {}
#: the tag an abandoned stream's event carries (docs/LLM-python.md "Limits")
INCOMPLETE_TAG = "vigilo.stream"


def get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for mappings, ``obj.key`` for SDK objects (duck-typed, never raises)."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    try:
        return getattr(obj, key, default)
    except Exception:
        return default


def listed(value: Any) -> Any:
    """A shallow copy of a list param (a generator is materialised once, for us and the SDK)."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return value
    try:
        return list(value)
    except TypeError:
        return value


def text_of(content: Any) -> str:
    """A message content's text: the string itself, or its text parts concatenated with no separator.

    Same rule as src/client/text.ts ``partsText``: a part counts when it has a
    string ``text`` (OpenAI text/input_text/output_text, Anthropic text blocks,
    Gemini Parts) and is not a Gemini thought; a Gemini Content counts by its parts.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        return "".join(text_of(part) for part in content)
    if get(content, "thought") is True:
        return ""
    text = get(content, "text")
    if isinstance(text, str):
        return text
    parts = get(content, "parts")
    if isinstance(parts, (list, tuple)):
        return text_of(parts)
    return ""


def role_messages(messages: Any) -> "list[dict]":
    """Chat-style messages as {"role", "content"}: the content's text, and "user" where a message has no string role."""
    out = []
    for message in messages or []:
        role = get(message, "role")
        out.append({"role": role if isinstance(role, str) else "user", "content": text_of(get(message, "content"))})
    return out


def to_json_dict(obj: Any) -> Optional[dict]:
    """A provider's usage object as the JSON the API sent (field names as on the wire)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj
    to_dict = getattr(obj, "to_dict", None)  # openai / anthropic models: only the fields the API sent
    if callable(to_dict):
        try:
            out = to_dict(mode="json", use_api_names=True, exclude_unset=True)
            if isinstance(out, dict):
                return out
        except TypeError:
            pass
    dump = getattr(obj, "model_dump", None)  # google-genai models: camelCase aliases, unset fields are None
    if callable(dump):
        out = dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(out, dict):
            return out
    return None


def fingerprint(provider: str, system: str, first_user: str) -> str:
    return hashlib.sha256(f"{provider}\n{system}\n{first_user}".encode("utf-8")).hexdigest()


#: longest request (in messages) whose conversation chain is sent; longer ones fall back to the fingerprint
MAX_CHAIN = 4000


def chain_hashes(provider: str, messages: "list[dict]") -> "list[str]":
    """Conversation chain (docs/LLM.md "Conversation identity", vectors in test/vectors/chain.json):
    sha256 of the provider, then for each message sha256(previous + "\n" + role + "\n" + text)."""
    out = []
    prev = hashlib.sha256(provider.encode("utf-8")).hexdigest()
    for message in messages:
        prev = hashlib.sha256(f"{prev}\n{message['role']}\n{message['content']}".encode("utf-8")).hexdigest()
        out.append(prev)
    return out


def reply_hash(provider: str, chain: "list[str]", output: Optional[str]) -> Optional[str]:
    """The chain continued by the reply (role "assistant"); None without reply text."""
    if not isinstance(output, str) or not output:
        return None
    prev = chain[-1] if chain else hashlib.sha256(provider.encode("utf-8")).hexdigest()
    return hashlib.sha256(f"{prev}\nassistant\n{output}".encode("utf-8")).hexdigest()


def fingerprint_of(provider: str, messages: "list[dict]") -> Optional[str]:
    """From normalised messages (docs/LLM-python.md, same rule as src/client): the system and
    developer messages before the first user message, joined with "\n", and that first user
    message. None when there is no user message."""
    system = []
    for message in messages:
        if message["role"] == "user":
            return fingerprint(provider, "\n".join(system), message["content"])
        if message["role"] in ("system", "developer"):
            system.append(message["content"])
    return None


_day_prefix: "tuple[int, str]" = (-1, "")


def iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 UTC with milliseconds and a "Z" (the sidecar's timestamp format).

    The date part is formatted once per UTC day and kept; the time of day is plain arithmetic. On the sender after a
    pause (calls seconds apart, cold caches) ``time.strftime`` took about 30 µs per event, this about 3."""
    global _day_prefix
    seconds, ms = divmod(int(ts * 1000), 1000)
    day, of_day = divmod(seconds, 86400)
    if _day_prefix[0] != day:
        _day_prefix = (day, time.strftime("%Y-%m-%dT", time.gmtime(day * 86400)))
    hours, rest = divmod(of_day, 3600)
    return f"{_day_prefix[1]}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{ms:03d}Z"


class _EventIds:
    """Event ids in the UUID text form (version 8: vendor-defined): 74 random bits drawn once per process, and again
    in a forked child, then a 48-bit counter. ``uuid.uuid4()`` asks the kernel for randomness on every event (about
    50 µs on the sender after a pause); an id here is one counter step and one format. Unique across processes as
    long as two processes never draw the same 74 bits; the sidecar only needs the id to be unique (it ignores an id it
    already has: that is how a resent event is not counted twice)."""

    def __init__(self) -> None:
        self._reseed()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        r = int.from_bytes(os.urandom(10), "big") >> 6  # 74 bits
        a, b, c, variant, d = r >> 42, (r >> 26) & 0xFFFF, (r >> 14) & 0xFFF, (r >> 12) & 0x3, r & 0xFFF
        self._prefix = f"{a:08x}-{b:04x}-8{c:03x}-{0x8 | variant:x}{d:03x}-"
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFF_FFFF_FFFF:012x}"


new_event_id = _EventIds().next


def sdk_version(dist: str) -> Optional[str]:
    if dist not in _SDK_VERSIONS:
        version = None
        try:
            version = metadata.version(dist)
        except Exception:
            module = sys.modules.get({"google-genai": "google.genai"}.get(dist, dist))
            version = getattr(module, "__version__", None)
        _SDK_VERSIONS[dist] = version
    return _SDK_VERSIONS[dist]


def _clip(value: Optional[str], n: int) -> Optional[str]:
    return None if value is None else str(value)[:n]


class CallRecord:
    """Facts about one call, noted on the caller's thread; ``build()`` runs on the sender."""

    # What a call may learn later starts as these class-level defaults: the caller's thread stores only what it knows.
    ttft: Optional[float] = None
    first_item: Optional[float] = None
    latency = 0.0
    # What the response said; for non-streamed calls `response` is read in build().
    response: Any = None
    read_response: Optional[Callable[[Any], "tuple[Optional[str], Any, Optional[str]]"]] = None
    response_model: Optional[str] = None
    usage: Any = None
    error: Optional["dict[str, Any]"] = None
    ended = False
    # A stream that stopped before its end (closed, dropped, never read): sent with what was seen, tagged.
    incomplete = False
    # Vigilo never counts tokens; a framework may have (LiteLLM's streams without include_usage).
    usage_estimated = False

    def __init__(
        self,
        *,
        provider: str,
        operation: str,
        sdk: str,
        request_model: Optional[str],
        request: Any,
        messages_of: Callable[[Any], "list[dict]"],
        stream: bool,
        capture: bool,
        clock: Callable[[], float],
        wall: float,
    ) -> None:
        state = current()
        self.provider = provider
        self.operation = operation
        self.sdk = sdk
        self.request_model = request_model
        self.request = request
        self.messages_of = messages_of
        self.stream = stream
        self.capture = capture
        self.clock = clock
        self.conversation_id = state.conversation_id
        self.tags = state.tags
        self.wall = wall
        self.t0 = clock()
        # Streams whose usage comes in several events (Anthropic): each {"type", "usage"} as sent.
        self.usage_events: "list[dict]" = []
        self.output_parts: "list[str]" = []
        # Other raw facts of the response, sent as event fields (Gemini: "groundingQueries").
        self.facts: "dict[str, Any]" = {}

    def restart(self, wall: float) -> None:
        """The request really starts now (lazily started streams)."""
        self.wall = wall
        self.t0 = self.clock()

    def note(self, model: Any, usage: Any = None) -> None:
        """What a streamed item says of the response: a non-empty model name, and the usage so far (when it has one)."""
        if isinstance(model, str) and model:
            self.response_model = model
        if usage is not None:
            self.usage = usage

    def mark_item(self, content: bool) -> None:
        now = self.clock() - self.t0
        if self.first_item is None:
            self.first_item = now
        if content and self.ttft is None:
            self.ttft = now

    def end(self, exc: Optional[BaseException] = None) -> bool:
        """Stop the clock once. False when it had already stopped."""
        if self.ended:
            return False
        self.ended = True
        self.latency = self.clock() - self.t0
        if exc is not None:
            self.error = error_info(exc)
        return True

    def build(self) -> "dict[str, Any]":
        messages = self.messages_of(self.request) if self.request is not None else []
        output: Optional[str] = "".join(self.output_parts) if self.output_parts else None
        if self.read_response is not None and self.response is not None:
            # (model, usage, text) or (model, usage, text, {other raw facts})
            read = self.read_response(self.response)
            model, usage, text = read[:3]
            if len(read) > 3 and read[3]:
                self.facts.update(read[3])
            self.response_model = self.response_model or model
            self.usage = usage if usage is not None else self.usage
            output = text if text is not None else output
        ttft = self.ttft if self.ttft is not None else self.first_item
        chain = chain_hashes(self.provider, messages) if len(messages) <= MAX_CHAIN else None
        betas = self.request.get("betas") if isinstance(self.request, dict) else None
        extra: "dict[str, Any]" = dict(self.facts)
        if self.usage_events:
            extra["usageEvents"] = self.usage_events[-64:]
        if betas:
            extra["betas"] = [str(b)[:128] for b in betas][:32]
        return {
            **extra,
            "chain": chain,
            "replyHash": reply_hash(self.provider, chain, output) if chain is not None else None,
            "id": new_event_id(),
            "provider": self.provider,
            "operation": self.operation,
            "requestModel": _clip(self.request_model, 256),
            "responseModel": _clip(self.response_model, 256),
            "startedAt": iso(self.wall),
            "ttftMs": round(ttft * 1000.0, 3) if (self.stream and ttft is not None) else None,
            "latencyMs": round(max(0.0, self.latency) * 1000.0, 3),
            "stream": self.stream,
            "status": "error" if self.error else "ok",
            "error": self.error,
            "usage": to_json_dict(self.usage),
            "usageEstimated": self.usage_estimated,
            "conversationId": _clip(self.conversation_id, 256),
            "fingerprint": fingerprint_of(self.provider, messages),
            "tags": {**{k: v[:1000] for k, v in self.tags.items()}, **({INCOMPLETE_TAG: "incomplete"} if self.incomplete else {})},
            "messages": [{"role": m["role"][:64], "content": m["content"]} for m in messages] if self.capture else None,
            "output": output if self.capture else None,
            "sdk": {"language": "python", "name": self.sdk, "version": _clip(sdk_version(self.sdk), 50)},
        }


def error_info(exc: BaseException) -> "dict[str, Any]":
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        code = getattr(exc, "code", None)  # google-genai APIError.code is the HTTP status
        status = code if isinstance(code, int) and 100 <= code <= 599 else None
    return {"class": type(exc).__name__[:200], "httpStatus": status}
