"""``track()`` also sees calls from clients that were never passed to ``wrap()``.

The first time a ``track()`` block is entered (and again on later entries, for
SDKs imported since), the tracked methods are patched once on the SDK's
resource *classes* (``openai.resources.chat.completions.Completions.create``,
...), for the SDKs the user has already imported; vigilo never imports an SDK
the user did not. The class-level wrapper records a call only while a
``track()`` block is active; outside one it calls the SDK method straight away.

A wrapped client is never counted twice: ``wrap()`` patches the instance with
the class's *original* method (``patch`` in ``_wrapping`` unwraps the class
wrapper), so a wrapped instance's calls go through its own wrapper only,
whichever of ``wrap()`` and the first ``track()`` came first.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import sys
import threading
from typing import Any, Callable

from . import _census
from ._context import active
from ._delivery import runtime

CLASS_MARK = "__vigilo_class_wrapper__"

_lock = threading.Lock()
_done: "set[tuple[str, str, str]]" = set()


@functools.lru_cache(maxsize=1)
def _targets() -> "list[tuple[str, str, str, str, Callable[[Any], Any]]]":
    """(SDK name as in events, module, class, method, make) for every tracked method, sync and async. The SDK is
    loaded when its ``_census.SDK_MODULES`` module is imported."""
    from . import _anthropic, _google, _google_legacy, _openai
    from ._wrapping import async_method, sync_method

    legacy = "google.generativeai.generative_models"

    return [
        ("openai", "openai.resources.chat.completions", "Completions", "create", sync_method(_openai.CHAT)),
        ("openai", "openai.resources.chat.completions", "AsyncCompletions", "create", async_method(_openai.CHAT)),
        ("openai", "openai.resources.responses", "Responses", "create", sync_method(_openai.RESPONSES)),
        ("openai", "openai.resources.responses", "AsyncResponses", "create", async_method(_openai.RESPONSES)),
        ("openai", "openai.resources.chat.completions", "Completions", "parse", sync_method(_openai.CHAT)),
        ("openai", "openai.resources.chat.completions", "AsyncCompletions", "parse", async_method(_openai.CHAT)),
        ("openai", "openai.resources.responses", "Responses", "parse", sync_method(_openai.RESPONSES)),
        ("openai", "openai.resources.responses", "AsyncResponses", "parse", async_method(_openai.RESPONSES)),
        ("anthropic", "anthropic.resources.messages", "Messages", "create", sync_method(_anthropic.MESSAGES)),
        ("anthropic", "anthropic.resources.messages", "AsyncMessages", "create", async_method(_anthropic.MESSAGES)),
        ("anthropic", "anthropic.resources.messages", "Messages", "stream", _anthropic._stream_helper(False)),
        ("anthropic", "anthropic.resources.messages", "AsyncMessages", "stream", _anthropic._stream_helper(True)),
        ("google-genai", "google.genai.models", "Models", "generate_content", sync_method(_google.PLAIN)),
        ("google-genai", "google.genai.models", "Models", "generate_content_stream", sync_method(_google.STREAM)),
        ("google-genai", "google.genai.models", "AsyncModels", "generate_content", async_method(_google.PLAIN)),
        ("google-genai", "google.genai.models", "AsyncModels", "generate_content_stream", async_method(_google.STREAM)),
        ("google-generativeai", legacy, "GenerativeModel", "generate_content", _google_legacy.method(False)),
        ("google-generativeai", legacy, "GenerativeModel", "generate_content_async", _google_legacy.method(True)),
    ]


def _class_wrapper(func: Callable[..., Any], make: Callable[[Any], Any], sdk: str) -> Callable[..., Any]:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not active():
            _census.untracked(sdk)  # it passes untracked: counted for the "untracked calls" signal, nothing else
            return func(self, *args, **kwargs)
        try:
            instrumented = make(func.__get__(self, type(self)))
        except Exception as err:  # never into the user's call
            runtime().count("errors", error=f"track(): {type(err).__name__}: {err}")
            return func(self, *args, **kwargs)
        return instrumented(*args, **kwargs)

    if inspect.iscoroutinefunction(func):

        async def acall(self: Any, *args: Any, **kwargs: Any) -> Any:
            return await call(self, *args, **kwargs)

        wrapper = functools.wraps(func)(acall)
    else:
        wrapper = functools.wraps(func)(call)
    setattr(wrapper, CLASS_MARK, True)
    return wrapper


def instrument_loaded_sdks() -> None:
    """Patch the tracked methods of every SDK already imported, once each. Never raises."""
    from ._frameworks import instrument_litellm
    from ._sessions import instrument_session_classes

    instrument_session_classes()  # chat sessions: each session object is one conversation
    instrument_litellm()  # LiteLLM posts without the SDKs' create(): seen through its callbacks
    try:
        targets = _targets()
        if all(t[1:4] in _done for t in targets):
            return
        with _lock:
            for sdk, module_name, class_name, method, make in targets:
                key = (module_name, class_name, method)
                if key in _done or _census.SDK_MODULES[sdk] not in sys.modules:
                    continue
                _done.add(key)
                try:
                    cls = getattr(importlib.import_module(module_name), class_name)
                    func = cls.__dict__.get(method)
                    if func is None or not callable(func) or getattr(func, CLASS_MARK, False):
                        continue
                    setattr(cls, method, _class_wrapper(func, make, sdk))
                except Exception as err:  # an SDK version laid out differently: those calls need wrap()
                    runtime().count("errors", error=f"track(): cannot instrument {module_name}.{class_name}.{method}: {type(err).__name__}: {err}")
    except Exception as err:
        runtime().count("errors", error=f"track(): {type(err).__name__}: {err}")


def original_of(method: Any) -> Any:
    """For a bound class-level wrapper, the SDK's own method bound to the same instance; else ``method``."""
    if getattr(method, CLASS_MARK, False) and hasattr(method, "__self__"):
        return method.__wrapped__.__get__(method.__self__, type(method.__self__))
    return method
