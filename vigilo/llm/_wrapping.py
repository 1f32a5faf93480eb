"""Instrumenting one SDK method, sync or async, streamed or not (core; imports no SDK module).

An SDK module describes each method with a ``Spec``. ``wrap()``: ``patch`` puts a
wrapper on the resource *instance* (``client.chat.completions.create = ...``),
so the client keeps its class and only that client is instrumented.
``track()``: ``patch_class`` puts a wrapper on the SDK's resource *class*
(``openai.resources.chat.completions.Completions.create``), for SDKs the user
has already imported (vigilo never imports an SDK the user did not). The
class-level wrapper records a call only while a ``track()`` block is active;
outside one it counts the call as untracked and calls the SDK method at once.

A wrapped client is never counted twice: ``patch`` wraps the class's
*original* method (``original_of`` unwraps the class wrapper), so a wrapped
instance's calls go through its own wrapper only, whichever of ``wrap()`` and
the first ``track()`` came first.

Rules the wrappers keep (docs/STYLE.md item 12):
- the provider's response, stream object and exceptions reach the caller
  unchanged (streams are the same object: only its private iterator is
  wrapped, so ``isinstance`` and context managers keep working);
- nothing vigilo does may raise into the caller: every internal failure is
  counted (``vigilo.llm.stats()["errors"]``) and the call goes on unwrapped;
- the only thing that can refuse a call is the opt-in hard budget.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import time
import weakref
from typing import Any, Callable, Optional

from . import _census
from ._context import active
from ._delivery import runtime
from ._record import CallRecord

MARK = "__vigilo_wrapped__"
CLASS_MARK = "__vigilo_class_wrapper__"


class Spec:
    """How to observe one SDK method.

    prepare(args, kwargs) -> (request_model, request_snapshot, kwargs_to_send, stream, stream_state)
    read_response(response) -> (response_model, usage_object, output_text[, {other raw facts, e.g. groundingQueries}])
    observe(item, record, stream_state) -> bool: note one streamed item, True to pass it to the caller
    messages_of(request_snapshot) -> [{"role", "content"}]
    """

    def __init__(
        self,
        *,
        provider: str,
        operation: str,
        sdk: str,
        prepare: Callable[..., Any],
        read_response: Callable[[Any], Any],
        observe: Callable[..., bool],
        messages_of: Callable[[Any], "list[dict]"],
        lazy_stream: bool = False,
        read_ahead: Optional[Callable[[Any], Any]] = None,
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.sdk = sdk
        self.prepare = prepare
        self.read_response = read_response
        self.observe = observe
        self.messages_of = messages_of
        # google-genai's *_stream methods return a generator that sends the request on first pull.
        self.lazy_stream = lazy_stream
        # google-generativeai reads a stream's first chunk before returning: read_ahead(stream) gives those items.
        self.read_ahead = read_ahead


def patch(owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> bool:
    """Replace ``owner.name`` with ``make(original)``, once. False when there is no such method."""
    original = getattr(owner, name, None)
    if original is None or not callable(original):
        return False
    if getattr(original, MARK, False):
        return True
    # track() may have patched the SDK class: the instance wraps the SDK's own method, so a call counts once.
    original = original_of(original)
    wrapper = make(original)
    setattr(wrapper, MARK, True)
    setattr(owner, name, wrapper)
    return True


def original_of(method: Any) -> Any:
    """For a bound class-level wrapper, the SDK's own method bound to the same instance; else ``method``."""
    if getattr(method, CLASS_MARK, False) and hasattr(method, "__self__"):
        return method.__wrapped__.__get__(method.__self__, type(method.__self__))
    return method


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


def patch_classes(targets: "list[tuple[str, str, str, str, Callable[[Any], Any]]]") -> None:
    """Put the class-level wrapper on each (SDK name as in events, module, class, method, make) target (the SDK is already imported). A target whose class or method
    this SDK version lays out differently is counted as an error; its calls need ``wrap()``. Never raises."""
    for sdk, module_name, class_name, method, make in targets:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
            func = cls.__dict__.get(method)
            if func is None or not callable(func) or getattr(func, CLASS_MARK, False):
                continue
            setattr(cls, method, _class_wrapper(func, make, sdk))
        except Exception as err:
            runtime().count("errors", error=f"track(): cannot instrument {module_name}.{class_name}.{method}: {type(err).__name__}: {err}")


def _begin(spec: Spec, args: tuple, kwargs: dict) -> "tuple[Optional[CallRecord], dict, Any]":
    """Note the request. On any internal failure: (None, kwargs unchanged, None)."""
    rt = runtime()
    try:
        model, snapshot, send_kwargs, stream, state = spec.prepare(args, kwargs)
        record = CallRecord(
            provider=spec.provider,
            operation=spec.operation,
            sdk=spec.sdk,
            request_model=model if isinstance(model, str) else None,
            request=snapshot,
            messages_of=spec.messages_of,
            stream=bool(stream),
            capture=rt.config.capture(),
            clock=rt.config.clock,
            wall=time.time(),
        )
        return record, send_kwargs, state
    except Exception as err:
        rt.count("errors", error=f"{spec.provider} {spec.operation} request: {type(err).__name__}: {err}")
        return None, kwargs, None


def _emit(record: CallRecord) -> None:
    _census.tracked(record.sdk)
    runtime().enqueue(record)


def _end(record: CallRecord, exc: Optional[BaseException] = None, doing: str = "ending a stream") -> None:
    """Stop the call's clock and send its event, once (the first end wins)."""
    try:
        if record.end(exc):
            _emit(record)
    except Exception as err:
        runtime().count("errors", error=f"{doing}: {type(err).__name__}: {err}")


def _fail(record: Optional[CallRecord], exc: BaseException) -> None:
    if record is not None:
        _end(record, exc, "recording an error")


def _raw_response(result: Any) -> Any:
    """``with_raw_response`` / ``with_streaming_response`` (openai, anthropic): the SDK's raw response, whose sync
    ``parse()`` gives the SDK object and caches it (so parsing it for the event changes nothing for the user)."""
    # The type's name first: on an ordinary response (a pydantic model) the getattr()s below would each raise and
    # catch an AttributeError inside pydantic, tens of µs per call on a cold cache.
    if not type(result).__name__.endswith("APIResponse"):
        return None
    parse = getattr(result, "parse", None)
    http = getattr(result, "http_response", None)
    if http is None or not callable(parse) or inspect.iscoroutinefunction(parse):
        return None
    return result


def _send_when_parsed(spec: Spec, record: CallRecord, response: Any) -> None:
    """``with_streaming_response``: the body is the user's to read after the call returned. The event goes when
    the user parses it (with its usage), or when the response is collected unparsed (without)."""
    original = response.parse
    sent = [False]

    def send(parsed: Any = None) -> None:
        if not sent[0]:
            sent[0] = True
            if parsed is not None:
                record.response, record.read_response = parsed, spec.read_response
            _emit(record)

    @functools.wraps(original)
    def parse(*args: Any, **kwargs: Any) -> Any:
        parsed = original(*args, **kwargs)
        if not args and not kwargs:  # into the SDK's own type, not a `to=` of the user's
            try:
                send(parsed)
            except Exception as err:
                runtime().count("errors", error=f"{spec.provider} {spec.operation} response: {type(err).__name__}: {err}")
        return parsed

    response.parse = parse
    weakref.finalize(response, send)


def _finish(spec: Spec, record: Optional[CallRecord], result: Any, state: Any) -> Any:
    """After a call returned: streams get instrumented (same object), responses noted."""
    if record is None:
        return result
    try:
        raw = _raw_response(result)
        if record.stream:
            for item in spec.read_ahead(result) if spec.read_ahead else ():
                _observe(spec, record, item, state)
            if raw is not None:  # parsed without reading: the user's raw.parse() returns this same stream, instrumented
                instrument_stream(spec, record, raw.parse(), state)
                return result
            return instrument_stream(spec, record, result, state)
        record.end()
        if raw is not None and not getattr(raw.http_response, "is_closed", False):
            _send_when_parsed(spec, record, raw)
            return result
        record.response = result
        record.read_response = spec.read_response if raw is None else (lambda r: spec.read_response(r.parse()))
        _emit(record)
    except Exception as err:
        runtime().count("errors", error=f"{spec.provider} {spec.operation} response: {type(err).__name__}: {err}")
    return result


def sync_method(spec: Spec) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            runtime().check_budget()
            record, send_kwargs, state = _begin(spec, args, kwargs)
            try:
                result = original(*args, **send_kwargs)
            except BaseException as exc:
                _fail(record, exc)
                raise
            return _finish(spec, record, result, state)

        return wrapper

    return make


def async_method(spec: Spec) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            runtime().check_budget()
            record, send_kwargs, state = _begin(spec, args, kwargs)
            try:
                result = await original(*args, **send_kwargs)
            except BaseException as exc:
                _fail(record, exc)
                raise
            return _finish(spec, record, result, state)

        return wrapper

    return make


# --------------------------------------------------------------------- streams
def _observe(spec: Spec, record: CallRecord, item: Any, state: Any) -> bool:
    try:
        return spec.observe(item, record, state)
    except Exception as err:
        runtime().count("errors", error=f"{spec.provider} stream item: {type(err).__name__}: {err}")
        return True


def _sync_items(spec: Spec, record: CallRecord, items: Any, state: Any) -> Any:
    # Holds the inner iterator and the record, never the stream object: anthropic's
    # Stream keeps its iterator free of references to itself so a dropped stream closes.
    if spec.lazy_stream:
        record.restart(time.time())
    try:
        for item in items:
            if _observe(spec, record, item, state):
                yield item
    except GeneratorExit:
        _cut(record)
        close = getattr(items, "close", None)
        if close is not None:
            close()
        raise
    except BaseException as exc:
        _end(record, exc)
        raise
    _end(record)


async def _async_items(spec: Spec, record: CallRecord, items: Any, state: Any) -> Any:
    if spec.lazy_stream:
        record.restart(time.time())
    try:
        async for item in items:
            if _observe(spec, record, item, state):
                yield item
    except GeneratorExit:
        _cut(record)
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:
                pass
        raise
    except BaseException as exc:
        _end(record, exc)
        raise
    _end(record)


def instrument_stream(spec: Spec, record: CallRecord, stream: Any, state: Any) -> Any:
    """Observe a stream. SDK stream objects stay the same object; bare generators get a generator."""
    is_async = hasattr(stream, "__aiter__")
    if inspect.isgenerator(stream) or inspect.isasyncgen(stream):
        stream = _async_items(spec, record, stream, state) if is_async else _sync_items(spec, record, stream, state)
    else:
        # openai / anthropic Stream and AsyncStream iterate `self._iterator` in __iter__/__next__
        # (__aiter__/__anext__); wrap that iterator on the instance, keep the object.
        inner = getattr(stream, "_iterator")
        stream._iterator = _async_items(spec, record, inner, state) if is_async else _sync_items(spec, record, inner, state)
        _patch_close(stream, record, is_async)
    # A stream the user drops unread or half read: its event goes when the object goes (or at exit).
    weakref.finalize(stream, _cut, record)
    return stream


def _cut(record: CallRecord) -> None:
    """The stream stops before its end: send what was seen, marked incomplete. Nothing if it had ended."""
    if not record.ended:
        record.incomplete = True
        _end(record)


def _patch_close(stream: Any, record: CallRecord, is_async: bool) -> None:
    """``stream.close()`` (also what ``with`` calls) before the end: the call ends there."""
    close = getattr(type(stream), "close", None)
    if close is None:
        return
    ref = weakref.ref(stream)  # no cycle stream -> close -> stream

    if is_async:

        async def aclose_wrapper() -> Any:
            _cut(record)
            target = ref()
            if target is not None:
                return await close(target)

        stream.close = aclose_wrapper
    else:

        def close_wrapper() -> Any:
            _cut(record)
            target = ref()
            if target is not None:
                return close(target)

        stream.close = close_wrapper
