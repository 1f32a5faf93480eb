"""Checkpoints that survive the runtime: ``vigilo.checkpoint``.

Objects, in two lines::

    vigilo.checkpoint.watch(model=model, optimizer=opt, step=lambda: step)
    for batch in data:
        ...
        vigilo.checkpoint.step()      # microseconds unless a checkpoint is due

After a restart::

    state = vigilo.checkpoint.restore()   # loads model/optimizer, returns the saved dict (with "step")

A folder (a Trainer's output_dir)::

    vigilo.checkpoint.mirror("./outputs")

Framework callbacks: ``vigilo.checkpoint.callbacks`` (HF Trainer, Lightning, Keras).
The sidecar decides when and where (docs/CHECKPOINTS.md).
"""
from ._core import CheckpointError, latest, mirror, now, restore, status, step, unwatch, watch

__all__ = ["CheckpointError", "latest", "mirror", "now", "restore", "status", "step", "unwatch", "watch"]
