"""``track()``: the conversation id and tags that calls inside a block carry.

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
import functools
import inspect
from typing import Any, Callable, Mapping, NamedTuple, Optional


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


def _instrument_sdks() -> None:
    from ._global import instrument_loaded_sdks

    instrument_loaded_sdks()


class track:
    """Track every call inside a block (or a function), with a conversation id and tags.

    Calls of wrapped clients are always tracked; inside the block, calls of
    clients that were never wrapped (openai, anthropic, google-genai, already
    imported) are tracked too (see ``_global``).

    As a context manager::

        with vigilo.track(conversation_id="support-42", tags={"user": "ana"}):
            client.chat.completions.create(...)

    As a decorator (plain and ``async def`` functions)::

        @vigilo.track(conversation_id="nightly-eval")
        async def run(): ...

    Blocks nest: an inner ``conversation_id`` replaces the outer one, inner
    tags are merged over the outer ones.
    """

    def __init__(self, conversation_id: Optional[str] = None, tags: "Optional[Mapping[str, Any]]" = None) -> None:
        if conversation_id is not None and not isinstance(conversation_id, str):
            raise TypeError(f"conversation_id must be a str, not {type(conversation_id).__name__}")
        if tags is not None and not isinstance(tags, Mapping):
            raise TypeError(f"tags must be a mapping of str to str, not {type(tags).__name__}")
        self.conversation_id = conversation_id
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        # One token per active `with`, so one track object can be entered again while active.
        self._tokens: "list[contextvars.Token[TrackState]]" = []

    def _state(self) -> TrackState:
        outer = _current.get()
        conversation_id = self.conversation_id if self.conversation_id is not None else outer.conversation_id
        return TrackState(conversation_id, {**outer.tags, **self.tags})

    def __enter__(self) -> "track":
        _instrument_sdks()
        self._tokens.append(_current.set(self._state()))
        return self

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._tokens.pop())

    async def __aenter__(self) -> "track":
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_tracked(*args: Any, **kwargs: Any) -> Any:
                _instrument_sdks()
                token = _current.set(self._state())
                try:
                    return await fn(*args, **kwargs)
                finally:
                    _current.reset(token)

            return async_tracked

        @functools.wraps(fn)
        def tracked(*args: Any, **kwargs: Any) -> Any:
            _instrument_sdks()
            token = _current.set(self._state())
            try:
                return fn(*args, **kwargs)
            finally:
                _current.reset(token)

        return tracked
