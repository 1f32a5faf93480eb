"""The registry: which SDK modules Vigilo has, which client each one wraps, and patching the loaded ones.

Layers (tests/test_import_graph.py keeps them free of circles)::

    public     __init__ (wrap, track, flush, configure, stats), _track
    registry   _registry                      knows every SDK module below
    SDKs       _openai, _anthropic, _google, _google_legacy, _litellm
               each imports only the core, never another SDK module
    core       _wrapping, _sessions, _gemini, _record, _context, _census, _delivery (+ _transport, _spool)
               imports no SDK module

Each SDK module has ``SDK`` (the name events carry), ``MODULE`` (whose presence in ``sys.modules`` says the
user loaded it, from vigilo/_llm_sdks.py) and ``instrument_classes()`` (what ``track()`` needs: class-level
wrappers, chat sessions, LiteLLM's callback). The ones with clients also have ``client_kind(cls)`` and
``instrument(client, is_async)`` for ``wrap()``. Vigilo never imports an SDK the user did not.
"""
from __future__ import annotations

import sys
import threading
import warnings
from typing import Any, Optional, TypeVar

from . import _anthropic, _census, _google, _google_legacy, _litellm, _openai
from ._delivery import current_runtime, runtime

T = TypeVar("T")
#: the SDK modules whose clients wrap() takes, in the order they are asked
WRAPPABLE = (_openai, _anthropic, _google, _google_legacy)
#: every SDK module, for track()
SDKS = WRAPPABLE + (_litellm,)
_WRAPPED = "_vigilo_wrapped"

_lock = threading.Lock()
_done: "set[str]" = set()


def instrument_loaded_sdks() -> None:
    """Patch the classes of every SDK already imported, once each (an SDK imported later: at the next call).
    Never raises."""
    if len(_done) == len(SDKS):
        return
    try:
        with _lock:
            for sdk in SDKS:
                if sdk.SDK not in _done and sdk.MODULE in sys.modules:
                    _done.add(sdk.SDK)
                    sdk.instrument_classes()
    except Exception as err:
        runtime().count("errors", error=f"track(): {type(err).__name__}: {err}")


def heartbeat_facts() -> Optional[dict]:
    """The heartbeat's ``llm`` facts (``_census``), or None when no LLM SDK was ever seen. SDKs imported since the
    last look are instrumented first, so their untracked calls are counted from here on. Once events were sent,
    the sender's delivery counters go with them (``delivery``: dropped, lastDrop, pending, spooled)."""
    if _census.loaded():
        instrument_loaded_sdks()
    sender = current_runtime()
    return _census.facts(sender.delivery_facts() if sender is not None else None)


def _sdk_of(client: Any) -> "tuple[Any, bool]":
    """(the SDK module whose client this is, is_async), or (None, False); from the class, importing no SDK."""
    for cls in type(client).__mro__:
        for sdk in WRAPPABLE:
            is_async = sdk.client_kind(cls)
            if is_async is not None:
                return sdk, is_async
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
    sdk, is_async = _sdk_of(client)
    if sdk is None:
        raise TypeError(
            f"vigilo.wrap() takes an OpenAI, AsyncOpenAI, Anthropic, AsyncAnthropic or google.genai Client, "
            f"or a google.generativeai GenerativeModel, "
            f"not {type(client).__module__}.{type(client).__qualname__}"
        )
    try:
        missing = sdk.instrument(client, is_async)
        _wrap_copies(client)
        object.__setattr__(client, _WRAPPED, True)
    except Exception as err:  # a layout this version does not know: the client still works, untracked
        runtime().count("errors", error=f"wrap({sdk.SDK}): {type(err).__name__}: {err}")
        warnings.warn(f"vigilo.wrap could not instrument this {sdk.SDK} client: {err}", RuntimeWarning, stacklevel=2)
        return client
    if missing:
        runtime().count("errors", error=f"wrap({sdk.SDK}): not found: {', '.join(missing)}")
        warnings.warn(
            f"vigilo.wrap: this {sdk.SDK} SDK has no {', '.join(missing)}; those calls are not tracked",
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
