"""``track()``: every call inside a block (or a function) carries its conversation id and tags (public layer).

Entering a block first asks the registry to instrument the SDKs loaded so far, so calls of clients never passed to
``wrap()`` are seen too (``_registry``).
"""
from __future__ import annotations

import contextvars
import functools
import inspect
from typing import Any, Callable, Mapping, Optional

from . import _context, _registry


class track:
    """Track every call inside a block (or a function), with a conversation id and tags.

    Calls of wrapped clients are always tracked; inside the block, calls of
    clients that were never wrapped (openai, anthropic, google-genai, already
    imported) are tracked too (see ``_registry``).

    As a context manager::

        with vigilo.track(conversation_id="support-42", tags={"user": "ana"}):
            client.chat.completions.create(...)

    As a decorator (plain and ``async def`` functions)::

        @vigilo.track(conversation_id="nightly-eval")
        async def run(): ...

    Blocks nest: an inner ``conversation_id`` replaces the outer one, inner
    tags are merged over the outer ones. The state follows asyncio tasks, not
    plain threads (``_context``).
    """

    def __init__(self, conversation_id: Optional[str] = None, tags: "Optional[Mapping[str, Any]]" = None) -> None:
        if conversation_id is not None and not isinstance(conversation_id, str):
            raise TypeError(f"conversation_id must be a str, not {type(conversation_id).__name__}")
        if tags is not None and not isinstance(tags, Mapping):
            raise TypeError(f"tags must be a mapping of str to str, not {type(tags).__name__}")
        self.conversation_id = conversation_id
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        # One token per active `with`, so one track object can be entered again while active.
        self._tokens: "list[contextvars.Token[_context.TrackState]]" = []

    def _enter(self) -> "contextvars.Token[_context.TrackState]":
        _registry.instrument_loaded_sdks()
        return _context.enter(_context.nested(self.conversation_id, self.tags))

    def __enter__(self) -> "track":
        self._tokens.append(self._enter())
        return self

    def __exit__(self, *exc: object) -> None:
        _context.leave(self._tokens.pop())

    async def __aenter__(self) -> "track":
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_tracked(*args: Any, **kwargs: Any) -> Any:
                token = self._enter()
                try:
                    return await fn(*args, **kwargs)
                finally:
                    _context.leave(token)

            return async_tracked

        @functools.wraps(fn)
        def tracked(*args: Any, **kwargs: Any) -> Any:
            token = self._enter()
            try:
                return fn(*args, **kwargs)
            finally:
                _context.leave(token)

        return tracked
