"""LiteLLM inside ``track()`` (and the frameworks on the SDKs: nothing of their own).

LangChain's ChatOpenAI, ChatAnthropic and ChatGoogleGenerativeAI call the
official SDKs (``chat.completions.create``, ``messages.with_raw_response.create``,
google-genai ``models.generate_content``), so ``track()`` sees them there, once.

LiteLLM's ``completion()`` does not: it posts with the SDK's low-level client
(openai) or its own HTTP client (Anthropic, Gemini). It is seen through
LiteLLM's own callback list instead: the first ``track()`` block after
``import litellm`` adds one Vigilo logger (vigilo never imports LiteLLM
itself). The logger notes the ``track()`` scope when LiteLLM is about to call
(``log_pre_api_call`` runs on the caller's thread; success callbacks may run
on a worker thread) and sends one event per call id.

Usage: the provider's own object where LiteLLM kept the provider's answer
(``original_response`` of a whole response); a stream keeps only LiteLLM's
OpenAI-style ``Usage``, which is put back under the provider's field names
(docs/LLM.md "Coverage").
"""
from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, Optional

from .._llm_sdks import SDK_MODULES
from . import _census
from ._context import active, current
from ._delivery import runtime
from ._record import CallRecord, error_info, get, role_messages, to_json_dict
from ._wrapping import _emit

SDK = "litellm"
MODULE = SDK_MODULES[SDK]

_PROVIDERS = {"openai": "openai", "azure": "openai", "text-completion-openai": "openai", "anthropic": "anthropic", "gemini": "google"}
_OPERATIONS = {"openai": "chat.completions", "anthropic": "messages", "google": "generateContent"}
_lock = threading.Lock()
_installed = False
_pending: "dict[str, tuple]" = {}  # litellm_call_id -> (TrackState, wall time, monotonic time)
_sent: "dict[str, None]" = {}  # ids already sent (sync and async callbacks may both fire), bounded


def instrument_classes() -> None:
    """Add the Vigilo logger to ``litellm.callbacks``, once (LiteLLM is imported). Never raises."""
    global _installed
    if _installed or MODULE not in sys.modules:
        return
    with _lock:
        if _installed:
            return
        _installed = True
        try:
            litellm = sys.modules[MODULE]
            from litellm.integrations.custom_logger import CustomLogger  # the user's LiteLLM, already imported

            class VigiloLogger(CustomLogger):  # type: ignore[misc, valid-type]
                def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
                    _note(kwargs)

                def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
                    _send(kwargs, response_obj, start_time, end_time, None)

                def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
                    _send(kwargs, response_obj, start_time, end_time, kwargs.get("exception"))

                async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
                    _send(kwargs, response_obj, start_time, end_time, None)

                async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
                    _send(kwargs, response_obj, start_time, end_time, kwargs.get("exception"))

            callbacks = list(getattr(litellm, "callbacks", None) or [])
            litellm.callbacks = callbacks + [VigiloLogger()]
        except Exception as err:  # a LiteLLM laid out differently: its calls stay untracked, and it is said
            runtime().count("errors", error=f"track(): LiteLLM: {type(err).__name__}: {err}")


def _note(kwargs: Any) -> None:
    try:
        call_id = kwargs.get("litellm_call_id")
        if not active():
            _census.untracked(SDK)
        elif call_id:
            with _lock:
                _pending[call_id] = (current(), time.time(), runtime().config.clock())
                while len(_pending) > 1000:  # calls LiteLLM never logged (a stream left unread): oldest go
                    _pending.pop(next(iter(_pending)))
    except Exception as err:
        runtime().count("errors", error=f"LiteLLM pre-call: {type(err).__name__}: {err}")


def _provider_usage(provider: str, kwargs: Any, response: Any) -> Optional[dict]:
    raw = kwargs.get("original_response")
    if isinstance(raw, str) and raw.startswith("{"):
        try:
            body = json.loads(raw)
            usage = body.get("usageMetadata" if provider == "google" else "usage")
            if isinstance(usage, dict):
                return usage
        except ValueError:
            pass
    usage = to_json_dict(get(response, "usage")) or None
    if usage is None or provider == "openai":
        return usage  # LiteLLM's Usage is OpenAI's own shape
    details = usage.get("prompt_tokens_details") or {}
    out = usage.get("completion_tokens_details") or {}
    if provider == "anthropic":
        write = usage.get("cache_creation_input_tokens") or 0
        read = usage.get("cache_read_input_tokens") or 0
        return {
            "input_tokens": max(0, (usage.get("prompt_tokens") or 0) - write - read),
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "output_tokens": usage.get("completion_tokens") or 0,
        }
    thoughts = out.get("reasoning_tokens") or 0
    return {
        "promptTokenCount": usage.get("prompt_tokens") or 0,
        "candidatesTokenCount": max(0, (usage.get("completion_tokens") or 0) - thoughts),
        "thoughtsTokenCount": thoughts,
        "cachedContentTokenCount": details.get("cached_tokens") or 0,
        "totalTokenCount": usage.get("total_tokens") or 0,
    }


def _send(kwargs: Any, response: Any, start_time: Any, end_time: Any, exc: Any) -> None:
    try:
        call_id = kwargs.get("litellm_call_id")
        with _lock:
            noted = _pending.pop(call_id, None) if call_id else None
            if noted is None or call_id in _sent:
                return  # outside track(), or already sent by the other callback
            _sent[call_id] = None
            while len(_sent) > 1000:
                _sent.pop(next(iter(_sent)))
        provider = _PROVIDERS.get(str(kwargs.get("custom_llm_provider") or ""))
        if provider is None:
            runtime().count("errors", error=f"LiteLLM: provider {kwargs.get('custom_llm_provider')!r} is not priced by Vigilo; call not sent")
            return
        state, wall, t0 = noted
        rt = runtime()
        stream = bool(kwargs.get("stream"))
        record = CallRecord(
            provider=provider,
            operation=_OPERATIONS[provider],
            sdk=SDK,
            request_model=kwargs.get("model"),
            request={"messages": list(kwargs.get("messages") or [])},
            messages_of=lambda snapshot: role_messages(snapshot["messages"]),
            stream=stream,
            capture=rt.config.capture(),
            clock=rt.config.clock,
            wall=wall,
        )
        record.conversation_id, record.tags, record.t0 = state.conversation_id, state.tags, t0
        final = kwargs.get("complete_streaming_response") if stream else response
        if exc is None:
            record.note(get(final, "model"), _provider_usage(provider, kwargs, final))
            # An OpenAI stream reports usage only when asked (include_usage); else LiteLLM counted it with a tokenizer.
            options = kwargs.get("stream_options") or (kwargs.get("optional_params") or {}).get("stream_options") or {}
            record.usage_estimated = stream and provider == "openai" and not (isinstance(options, dict) and options.get("include_usage"))
            choices = get(final, "choices") or []
            text = get(get(choices[0], "message"), "content") if choices else None
            if isinstance(text, str) and record.capture:
                record.output_parts.append(text)
        first = kwargs.get("completion_start_time")
        if stream and first is not None and start_time is not None:
            record.ttft = max(0.0, (first - start_time).total_seconds())
        record.ended = True
        record.latency = max(0.0, (end_time - start_time).total_seconds()) if start_time and end_time else rt.config.clock() - t0
        if exc is not None:
            record.error = error_info(exc)
        _emit(record)
    except Exception as err:
        runtime().count("errors", error=f"LiteLLM event: {type(err).__name__}: {err}")
