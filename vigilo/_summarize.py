"""Context transfer: ``vigilo.summarize()`` and ``vigilo.fresh_start()``.

    summary = vigilo.summarize("support-42")                 # offline, deterministic (the sidecar's summary)
    summary = vigilo.summarize("support-42", client=client)  # written by your own model, through your client
    start = vigilo.fresh_start("support-42")                 # messages that open the next conversation
    with vigilo.track(conversation_id=start.conversation_id):
        client.chat.completions.create(model=..., messages=start.messages + [new_turn])

The summary itself (what to keep, how to rank it) is decided in TypeScript by
the sidecar (src/core/llm/summary.ts); this module only fetches messages, asks
the user's model when told to, and falls back to the offline summary on any
failure. The model call goes through the user's own client inside
``vigilo.track()``, so the wrapper records it and the sidecar prices it.
Standard library only; the SDKs are the user's own.
"""
from __future__ import annotations

import dataclasses
import inspect
import urllib.parse
from typing import Any, Mapping, Optional, Sequence, Union

from . import _sidecar

__all__ = ["summarize", "fresh_start", "Summary", "FreshStart"]

#: The models asked when ``model`` is not given, by client kind.
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "google": "gemini-2.5-flash"}

Conversation = Union[str, Sequence[Mapping[str, Any]]]


@dataclasses.dataclass(frozen=True)
class Summary:
    """A context-transfer summary, ready to be the system message of a fresh conversation."""

    text: str
    #: "model" when your model wrote it, "extractive" for the offline summary.
    method: str
    #: Why the offline summary was returned instead of the model's (None when the model's came back).
    note: Optional[str]
    #: The conversation summarised (None for a list of messages).
    conversation_id: Optional[str]
    #: The cost of the summarisation call as the sidecar priced it, USD (None when offline or unpriced).
    cost_usd: Optional[float] = None


@dataclasses.dataclass(frozen=True)
class FreshStart:
    """The opening of the next conversation: track it under ``conversation_id``."""

    conversation_id: str
    messages: "list[dict[str, str]]"
    #: The sidecar's successor link: previousTokens, freshTokens, savedTokensPerMessage, savedUsdPerMessage.
    link: "dict[str, Any]"
    summary: Summary


def _discovery(data_dir: Any) -> dict:
    return _sidecar.read_discovery(data_dir) or _sidecar.ensure_running(data_dir)


def _ask(discovery: dict, method: str, path: str, body: Any = None) -> Any:
    status, answer = _sidecar.request(discovery, method, path, body, timeout=30.0)
    if status != 200:
        raise RuntimeError(f"sidecar {method} {path}: HTTP {status}: {_sidecar.error_message(answer)}")
    return answer


def _messages_of(conversation: Conversation) -> "list[dict[str, str]]":
    out = []
    for m in conversation:
        if not isinstance(m, Mapping) or not isinstance(m.get("content"), str):
            raise TypeError("summarize() takes a conversation id (str) or a list of {'role': ..., 'content': str} messages")
        out.append({k: str(m[k]) for k in ("role", "content", "speaker", "date") if m.get(k) is not None})
    return out


def _client_kind(client: Any) -> str:
    if hasattr(client, "chat") and hasattr(getattr(client, "chat"), "completions"):
        return "openai"
    if hasattr(client, "messages") and hasattr(getattr(client, "messages"), "create"):
        return "anthropic"
    if hasattr(client, "models") and hasattr(getattr(client, "models"), "generate_content"):
        return "google"
    raise TypeError(f"summarize() takes an OpenAI, Anthropic or google-genai client, not {type(client).__name__}")


def _call_model(client: Any, model: Optional[str], system: str, user: str, budget: int) -> str:
    kind = _client_kind(client)
    model = model or DEFAULT_MODELS[kind]
    if kind == "openai":
        result = client.chat.completions.create(
            model=model, max_completion_tokens=budget, messages=[{"role": "system", "content": system}, {"role": "user", "content": user}]
        )
        _not_async(result)
        text = result.choices[0].message.content or ""
    elif kind == "anthropic":
        result = client.messages.create(model=model, max_tokens=budget, system=system, messages=[{"role": "user", "content": user}])
        _not_async(result)
        text = "".join(getattr(b, "text", "") for b in result.content if getattr(b, "type", None) == "text")
    else:
        result = client.models.generate_content(model=model, contents=user, config={"system_instruction": system, "max_output_tokens": budget})
        _not_async(result)
        text = result.text or ""
    if not text.strip():
        raise ValueError("the model answered with no text")
    return text.strip()


def _not_async(result: Any) -> None:
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close:
            close()
        raise TypeError("summarize() needs a synchronous client (OpenAI, Anthropic, genai.Client), not an async one")


def _cost_of(discovery: dict, conversation_id: str) -> Optional[float]:
    status, health = _sidecar.request(discovery, "GET", "/llm/health/" + urllib.parse.quote(conversation_id, safe=""))
    return health.get("costUsd") if status == 200 and isinstance(health, dict) else (0.0 if status == 404 else None)


def summarize(
    conversation: Conversation,
    client: Any = None,
    *,
    model: Optional[str] = None,
    budget_tokens: int = 800,
    data_dir: Any = None,
) -> Summary:
    """A summary of ``conversation`` (a conversation id the sidecar tracks, or a list of messages) that a fresh
    conversation can continue from, within ``budget_tokens``.

    Without ``client``: the offline summary (deterministic, no model, no network beyond the local sidecar).
    With ``client`` (OpenAI, Anthropic or google-genai, wrapped or not): the summary is written by ``model``
    (default per SDK: DEFAULT_MODELS) through that client, under ``vigilo.track(conversation_id=
    "<id>:summary")`` so its cost is recorded; any failure (the call, an empty answer, content not captured)
    returns the offline summary with the reason in ``note``.
    """
    if not isinstance(budget_tokens, int) or not 50 <= budget_tokens <= 100_000:
        raise ValueError("budget_tokens must be an int between 50 and 100000")
    discovery = _discovery(data_dir)
    conversation_id = conversation if isinstance(conversation, str) else None
    quoted = urllib.parse.quote(conversation_id, safe="") if conversation_id else None
    messages = _messages_of(conversation) if conversation_id is None else None

    def offline(note: Optional[str]) -> Summary:
        if quoted:
            answer = _ask(discovery, "GET", f"/llm/conversations/{quoted}/summary?budgetTokens={budget_tokens}")
        else:
            answer = _ask(discovery, "POST", "/llm/summary", {"messages": messages, "budgetTokens": budget_tokens})
        return Summary(answer["text"], "extractive", note, conversation_id)

    if client is None:
        return offline(None)
    # The sidecar writes the request (prompt and transcript: src/core/llm/summaryRequest.ts, one rule for Python
    # and TypeScript); it is sent through the user's client as is.
    if quoted:
        request = _ask(discovery, "GET", f"/llm/conversations/{quoted}/summary-request?budgetTokens={budget_tokens}")
    else:
        request = _ask(discovery, "POST", "/llm/summary-request", {"messages": messages, "budgetTokens": budget_tokens})
    if not request.get("hasContent"):
        return offline("content capture was off for this conversation, so only the offline summary is possible")
    from .llm import flush, track

    summary_id = f"{conversation_id or 'messages'}:summary"
    before = _cost_of(discovery, summary_id)
    try:
        with track(conversation_id=summary_id, tags={"vigilo.purpose": "context-summary"}):
            text = _call_model(client, model, request["system"], request["user"], int(request["maxTokens"]))
    except Exception as err:  # noqa: BLE001 - any failure of the user's model falls back, with its reason
        return offline(f"the model call failed ({type(err).__name__}: {err}); this is the offline summary")
    cost = None
    if flush(5.0):
        after = _cost_of(discovery, summary_id)
        cost = None if after is None or before is None else round(after - before, 9)
    return Summary(text, "model", None, conversation_id, cost)


def fresh_start(
    conversation_id: str,
    client: Any = None,
    *,
    model: Optional[str] = None,
    budget_tokens: int = 800,
    recent_tokens: int = 1500,
    successor_id: Optional[str] = None,
    data_dir: Any = None,
) -> FreshStart:
    """The messages that open a new conversation continuing ``conversation_id``: its summary as the system
    message, then its last turns verbatim within ``recent_tokens``. The sidecar records the new conversation
    (``successor_id``, default "<id>~1", "<id>~2", ...) as the old one's successor, with the prompt tokens and
    dollars each following message saves; the panel shows the chain. With ``client``, your model writes the
    summary (see summarize())."""
    if not isinstance(conversation_id, str) or not conversation_id:
        raise TypeError("fresh_start() takes the id of a tracked conversation (str)")
    discovery = _discovery(data_dir)
    summary = summarize(conversation_id, client, model=model, budget_tokens=budget_tokens, data_dir=data_dir) if client is not None else None
    body: "dict[str, Any]" = {"budgetTokens": budget_tokens, "recentTokens": recent_tokens}
    if successor_id:
        body["successorId"] = successor_id
    if summary is not None and summary.method == "model":
        body["summaryText"] = summary.text
    answer = _ask(discovery, "POST", f"/llm/conversations/{urllib.parse.quote(conversation_id, safe='')}/fresh-start", body)
    if summary is None or summary.method != "model":
        note = summary.note if summary is not None else None
        summary = Summary(answer["messages"][0]["content"], "extractive", note, conversation_id)
    return FreshStart(answer["link"]["successorId"], answer["messages"], answer["link"], summary)
