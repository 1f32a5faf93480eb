"""LLM call telemetry for the notebook's Python: ``wrap``, ``track``, ``flush``, ``configure``.

    import vigilo
    client = vigilo.wrap(OpenAI())            # or Anthropic(), genai.Client(), the Async* clients
    with vigilo.track(conversation_id="support-42"):
        client.chat.completions.create(...)

Raw facts only (model, the provider's own usage object, timings, status, and
the messages unless content capture is off) go to the sidecar's
``POST /llm/events`` in the background; prices, normalised tokens, health and
budgets are computed there, in TypeScript. See docs/LLM-python.md.

Standard library only: the SDKs are the user's own and are never imported here.
"""
from __future__ import annotations

import warnings
from typing import Any, Optional, TypeVar

from ._context import track
from ._delivery import runtime

__all__ = ["wrap", "track", "flush", "configure", "stats", "BudgetExceededError"]

T = TypeVar("T")
_WRAPPED = "_vigilo_wrapped"
_UNSET: Any = object()


class BudgetExceededError(RuntimeError):
    """Raised before a call is sent when ``configure(hard_budget=True)`` and the sidecar says the budget is spent."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Vigilo refused the LLM call: {reason}")
        self.reason = reason


def _provider_of(client: Any) -> "tuple[Optional[str], bool]":
    """('openai' | 'anthropic' | 'google' | None, is_async) from the client's class, without importing the SDK."""
    for cls in type(client).__mro__:
        root = (cls.__module__ or "").split(".")
        name = cls.__name__
        is_async = name.startswith("Async") or name == "AsyncClient"
        if root[0] == "openai" and name in ("OpenAI", "AsyncOpenAI"):
            return "openai", is_async
        if root[0] == "anthropic" and name in ("Anthropic", "AsyncAnthropic"):
            return "anthropic", is_async
        if root[:2] == ["google", "genai"] and name in ("Client", "AsyncClient"):
            return "google", is_async
        if root[:2] == ["google", "generativeai"] and name == "GenerativeModel":
            return "google-legacy", False
    return None, False


def wrap(client: T) -> T:
    """Instrument ``client`` in place and return it (same object, same type).

    Supported: ``openai.OpenAI`` / ``AsyncOpenAI`` (and subclasses such as
    ``AzureOpenAI``): ``chat.completions.create``, ``responses.create``;
    ``anthropic.Anthropic`` / ``AsyncAnthropic``: ``messages.create``,
    ``messages.stream``; ``google.genai.Client`` (with ``client.aio``) or a
    bare ``client.aio``: ``models.generate_content``, ``generate_content_stream``,
    ``chats.create`` sessions; ``google.generativeai.GenerativeModel``:
    ``generate_content(_async)`` (also ``stream=True``), ``start_chat`` sessions.
    Wrapping twice changes nothing. ``client.with_options(...)`` / ``copy()``
    return wrapped clients too.
    """
    if getattr(client, _WRAPPED, False):
        return client
    provider, is_async = _provider_of(client)
    if provider is None:
        raise TypeError(
            f"vigilo.wrap() takes an OpenAI, AsyncOpenAI, Anthropic, AsyncAnthropic or google.genai Client, "
            f"or a google.generativeai GenerativeModel, "
            f"not {type(client).__module__}.{type(client).__qualname__}"
        )
    try:
        if provider == "openai":
            from ._openai import instrument
        elif provider == "anthropic":
            from ._anthropic import instrument
        elif provider == "google":
            from ._google import instrument
        else:
            from ._google_legacy import instrument
        missing = instrument(client, is_async)
        _wrap_copies(client)
        object.__setattr__(client, _WRAPPED, True)
    except Exception as err:  # a layout this version does not know: the client still works, untracked
        runtime().count("errors", error=f"wrap({provider}): {type(err).__name__}: {err}")
        warnings.warn(f"vigilo.wrap could not instrument this {provider} client: {err}", RuntimeWarning, stacklevel=2)
        return client
    if missing:
        runtime().count("errors", error=f"wrap({provider}): not found: {', '.join(missing)}")
        warnings.warn(
            f"vigilo.wrap: this {provider} SDK has no {', '.join(missing)}; those calls are not tracked",
            RuntimeWarning,
            stacklevel=2,
        )
    return client


def _wrap_copies(client: Any) -> None:
    for name in ("copy", "with_options"):
        original = getattr(client, name, None)
        if original is None or not callable(original) or getattr(original, "__vigilo_wrapped__", False):
            continue

        def wrapped_copy(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            return wrap(__original(*args, **kwargs))

        wrapped_copy.__vigilo_wrapped__ = True  # type: ignore[attr-defined]
        wrapped_copy.__doc__ = getattr(original, "__doc__", None)
        object.__setattr__(client, name, wrapped_copy)


def _instrument_early() -> None:
    """SDKs (and LiteLLM) already imported are instrumented now, not only at the first track() block: a framework
    that binds the SDK's method on its first call (``with_raw_response``) would otherwise keep the untracked one.
    Outside a block the class-level wrappers call the SDK at once and record nothing."""
    from ._global import instrument_loaded_sdks

    instrument_loaded_sdks()


_instrument_early()


def flush(timeout: float = 5.0) -> bool:
    """Deliver the buffered events now. True when all were delivered within ``timeout`` seconds.

    With the sidecar unreachable it returns False at once and the events stay
    buffered (bounded; the oldest are dropped first) for the next attempt.
    Called automatically at interpreter exit.
    """
    return runtime().flush(timeout)


def configure(
    *,
    url: Optional[str] = _UNSET,
    token: Optional[str] = _UNSET,
    data_dir: Optional[str] = _UNSET,
    capture_content: Optional[bool] = _UNSET,
    hard_budget: bool = _UNSET,
    max_queue: int = _UNSET,
    batch_size: int = _UNSET,
    request_timeout: float = _UNSET,
) -> None:
    """Change how events are delivered; only the arguments given change.

    url, token       the sidecar to send to (default: found through <data dir>/sidecar.json)
    data_dir         where to look for sidecar.json (default: $VIGILO_DATA_DIR, XDG, ~/.local/share/vigilo)
    capture_content  send message text and output (default True; VIGILO_CAPTURE_CONTENT=0 turns it off;
                     None goes back to the environment variable)
    hard_budget      refuse calls with BudgetExceededError once the sidecar says a hard budget is spent (off)
    max_queue        events buffered while the sidecar is away (10 000; the oldest are dropped)
    batch_size       events per POST (at most 500)
    request_timeout  seconds per POST to the sidecar (5)
    """
    cfg = runtime().config
    if url is not _UNSET:
        cfg.url = url.rstrip("/") if url else None
    if token is not _UNSET:
        cfg.token = token
    if data_dir is not _UNSET:
        cfg.data_dir = None if data_dir is None else str(data_dir)
    if capture_content is not _UNSET:
        cfg.capture_content = None if capture_content is None else bool(capture_content)
    if hard_budget is not _UNSET:
        cfg.hard_budget = bool(hard_budget)
    if max_queue is not _UNSET:
        cfg.max_queue = max(1, int(max_queue))
    if batch_size is not _UNSET:
        cfg.batch_size = max(1, min(500, int(batch_size)))
    if request_timeout is not _UNSET:
        cfg.request_timeout = float(request_timeout)


def stats() -> "dict[str, Any]":
    """Counters since start: sent, dropped (buffer full), failed (rejected by the sidecar),
    errors (vigilo's own failures, caught), pending, lastError, and the last budget state."""
    return runtime().stats()
