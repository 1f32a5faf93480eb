"""Chat sessions: one session object is one conversation (core; imports no SDK module).

``model.start_chat()`` (google.generativeai) and ``client.chats.create()``
(google-genai) return a session that sends the whole history on every
message; each of those SDK modules names its session classes
(``SESSION_CLASSES``) and ``patch_session_classes`` patches them. Each session gets a conversation id of its own, kept on the session
object; while one of its send methods runs (or its stream is pulled), calls
carry that id, unless the user's own ``track(conversation_id=...)`` named one.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import uuid
from typing import Any, Callable, Iterator, Optional

from ._context import active, current, scope
from ._delivery import runtime
from ._wrapping import MARK as WRAPPED  # on an instance-patched method

ATTR = "_vigilo_conversation_id"
MARK = "__vigilo_session__"


def session_id(session: Any) -> Optional[str]:
    """The session's conversation id, made on first use (``chat-`` + 16 hex digits); None for a session
    that cannot keep it (its calls then fall back to the sidecar's own identity, never one id per call)."""
    sid = getattr(session, ATTR, None)
    if not isinstance(sid, str):
        sid = f"chat-{uuid.uuid4().hex[:16]}"
        try:
            object.__setattr__(session, ATTR, sid)
        except Exception:
            return None
    return sid


def _scope(session: Any) -> Any:
    try:
        sid = None if current().conversation_id is not None else session_id(session)
        if sid is None:
            return contextlib.nullcontext()
        return scope(sid)
    except Exception as err:
        runtime().count("errors", error=f"chat session: {type(err).__name__}: {err}")
        return contextlib.nullcontext()


def _scoped_iter(session: Any, items: Any) -> Iterator[Any]:
    # A generator session method sends its request when pulled: pull it inside the scope.
    while True:
        with _scope(session):
            try:
                item = next(items)
            except StopIteration:
                return
        yield item


async def _scoped_aiter(session: Any, items: Any) -> Any:
    while True:
        with _scope(session):
            try:
                item = await items.__anext__()
            except StopAsyncIteration:
                return
        yield item


async def _scoped_await(session: Any, awaitable: Any) -> Any:
    with _scope(session):
        result = await awaitable
    # google-genai's AsyncChat.send_message_stream is a coroutine that returns the generator: pull it in scope too.
    return _scoped_aiter(session, result) if inspect.isasyncgen(result) else result


def scoped(session: Any, original: Callable[..., Any]) -> Callable[..., Any]:
    """``original`` (a bound send method of ``session``) run inside the session's conversation."""

    @functools.wraps(original)
    def send(*args: Any, **kwargs: Any) -> Any:
        with _scope(session):
            result = original(*args, **kwargs)
        if inspect.isgenerator(result):
            return _scoped_iter(session, result)
        if inspect.isasyncgen(result):
            return _scoped_aiter(session, result)
        if inspect.iscoroutine(result):
            return _scoped_await(session, result)
        return result

    setattr(send, MARK, True)
    return send


_done: "set[tuple[str, str, str]]" = set()


def _tracked(session: Any, via: str) -> bool:
    """Inside track(), or the session calls a wrapped model: its calls are recorded, so they get its id."""
    if active():
        return True
    target = getattr(session, via, None)
    return getattr(getattr(target, "generate_content", None), WRAPPED, False)


def _class_send(func: Callable[..., Any], via: str) -> Callable[..., Any]:
    @functools.wraps(func)
    def send(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = func.__get__(self, type(self))
        try:
            tracked = _tracked(self, via)
        except Exception:
            tracked = False
        return scoped(self, bound)(*args, **kwargs) if tracked else bound(*args, **kwargs)

    setattr(send, MARK, True)
    return send


def patch_session_classes(classes: "tuple[tuple[str, str, tuple[str, ...], str], ...]") -> None:
    """Patch chat session classes, each (module, class, send methods, the attribute holding what the session
    calls), once; the SDK is already imported. Never raises."""
    for module_name, class_name, methods, via in classes:
        for name in methods:
            key = (module_name, class_name, name)
            if key in _done:
                continue
            _done.add(key)
            try:
                cls = getattr(importlib.import_module(module_name), class_name)
                func = cls.__dict__.get(name)
                if callable(func) and not getattr(func, MARK, False):
                    setattr(cls, name, _class_send(func, via))
            except Exception as err:  # a layout this version does not know: sessions fall back to the fingerprint
                runtime().count("errors", error=f"chat sessions: {module_name}.{class_name}.{name}: {type(err).__name__}: {err}")
