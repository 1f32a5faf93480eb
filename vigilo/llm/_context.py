"""The conversation id and tags that calls carry: the state a ``track()`` block sets (core; imports no SDK module).

The state lives in a ``contextvars.ContextVar``, so it follows the code that
runs inside the block: asyncio tasks created inside it inherit it (a task
copies the context when it is created), and so does ``asyncio.to_thread``.
A plain ``threading.Thread`` or ``ThreadPoolExecutor.submit`` started inside
the block does NOT (Python gives a new thread an empty context); run the work
through ``contextvars.copy_context().run`` or open ``track()`` inside the
thread.
"""
from __future__ import annotations

import contextvars
from typing import Any, Mapping, NamedTuple, Optional


class TrackState(NamedTuple):
    conversation_id: Optional[str]
    tags: "dict[str, str]"


_EMPTY = TrackState(None, {})
_current: "contextvars.ContextVar[TrackState]" = contextvars.ContextVar("vigilo_llm_track", default=_EMPTY)


def current() -> TrackState:
    return _current.get()


def active() -> bool:
    """True inside a ``track()`` block (each block sets a new state object; outside it is ``_EMPTY``)."""
    return _current.get() is not _EMPTY


def nested(conversation_id: Optional[str], tags: "Mapping[str, str]") -> TrackState:
    """The state of a block opened here: an inner ``conversation_id`` replaces the outer one, inner tags are merged
    over the outer ones."""
    outer = _current.get()
    return TrackState(conversation_id if conversation_id is not None else outer.conversation_id, {**outer.tags, **tags})


def enter(state: TrackState) -> "contextvars.Token[TrackState]":
    return _current.set(state)


def leave(token: "contextvars.Token[TrackState]") -> None:
    _current.reset(token)


class scope:
    """A block whose calls carry ``conversation_id`` (a chat session's own id); nothing else happens on entry."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        self._token: Any = None

    def __enter__(self) -> "scope":
        self._token = enter(nested(self.conversation_id, {}))
        return self

    def __exit__(self, *exc: object) -> None:
        leave(self._token)
