"""Vigilo: a notebook runtime and LLM-spend monitor.

In a notebook::

    %load_ext vigilo
    %vigilo

LLM telemetry::

    import vigilo
    client = vigilo.wrap(OpenAI())
"""
from __future__ import annotations

__version__ = "0.1.0"

_magics = None


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "vigilo"}]


def _jupyter_server_extension_points():
    return [{"module": "vigilo.serverext"}]


def __getattr__(name):
    # The LLM wrappers are imported on first use: nothing runs at import time.
    if name in ("wrap", "track", "flush", "configure"):
        from . import llm

        return getattr(llm, name)
    if name in ("summarize", "fresh_start"):
        # vigilo.summarize(conversation, client=...) / vigilo.fresh_start(id): context transfer (_summarize.py).
        from . import _summarize

        return getattr(_summarize, name)
    if name == "progress":
        # vigilo.progress(step, total, name=...): training progress for the "will it finish?" estimate.
        from ._progress import progress

        return progress
    if name == "checkpoint":
        # vigilo.checkpoint.watch(...) / step() / restore(): checkpoints that survive the runtime.
        import importlib

        return importlib.import_module(".checkpoint", __name__)
    raise AttributeError(f"module 'vigilo' has no attribute {name!r}")


def load_ipython_extension(ipython):
    """``%load_ext vigilo``: register the ``%vigilo`` magic."""
    global _magics
    from .magics import VigiloMagics

    _magics = VigiloMagics(ipython)
    ipython.register_magics(_magics)


def unload_ipython_extension(ipython):
    global _magics
    if _magics is not None:
        _magics.unload()
        _magics = None
