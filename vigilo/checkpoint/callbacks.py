"""Framework callbacks: checkpoints through the framework's own save, progress
through ``vigilo.progress``. Each imports its framework only when created.

Hugging Face Trainer::

    from vigilo.checkpoint.callbacks import HFTrainerCallback
    trainer = Trainer(..., callbacks=[HFTrainerCallback()])

When the sidecar says a checkpoint is due, the callback sets
``control.should_save`` so the Trainer saves ``checkpoint-<step>/`` itself at
the end of that step; every folder the Trainer saves (its own ``save_steps``
too) is copied to the durable destination and verified. Resume with the
Trainer's ``resume_from_checkpoint=vigilo.checkpoint.latest()``.

PyTorch Lightning::

    trainer = L.Trainer(callbacks=[LightningCallback()])

saves with ``trainer.save_checkpoint(path)`` when due; resume with
``trainer.fit(model, ckpt_path=vigilo.checkpoint.latest())``.

Keras::

    model.fit(..., callbacks=[KerasCallback()])

saves with ``model.save(path)`` (``.keras``) when due; load with
``keras.models.load_model(vigilo.checkpoint.latest())``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from .._progress import progress
from . import _core


def _attach(data_dir) -> "_core.Checkpointer":
    """A checkpointer that watches on behalf of the framework (no objects of its own)."""
    cp = _core._checkpointer(data_dir)
    if cp.heartbeat is None:
        cp.attach()
    return cp


def HFTrainerCallback(name: str = "train", data_dir=None):
    """A ``transformers.TrainerCallback`` (created here so transformers is imported only when used)."""
    from transformers import TrainerCallback  # type: ignore

    class VigiloTrainerCallback(TrainerCallback):
        def __init__(self) -> None:
            self.cp = _attach(data_dir)

        def on_step_end(self, args, state, control, **kwargs):
            progress(state.global_step, state.max_steps or None, name=name, source="hf-trainer")
            if _core._due and self.cp.pending() is not None:
                control.should_save = True  # the Trainer saves checkpoint-<step>/ at the end of this step
            return control

        def on_save(self, args, state, control, **kwargs):
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                self.cp.serve(writer=lambda _base: folder, step=state.global_step, own=self.cp.pending() is None, keep_source=True)
            return control

        def on_train_end(self, args, state, control, **kwargs):
            progress(state.global_step, state.global_step, name=name, source="hf-trainer")
            return control

    return VigiloTrainerCallback()


def _lightning_base():
    try:
        from lightning.pytorch.callbacks import Callback  # type: ignore
    except ImportError:
        from pytorch_lightning.callbacks import Callback  # type: ignore
    return Callback


def LightningCallback(name: str = "train", data_dir=None):
    """A Lightning ``Callback`` saving with ``trainer.save_checkpoint`` when a checkpoint is due."""
    Callback = _lightning_base()

    class VigiloLightningCallback(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.cp = _attach(data_dir)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            total = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else getattr(trainer, "estimated_stepping_batches", None)
            progress(trainer.global_step, total, name=name, source="lightning")
            if _core._due and self.cp.pending() is not None:
                def save(base: Path) -> Path:
                    path = base.with_suffix(".ckpt")
                    trainer.save_checkpoint(str(path))
                    return path

                self.cp.serve(writer=save, step=trainer.global_step)

    return VigiloLightningCallback()


def KerasCallback(name: str = "train", data_dir=None, weights_only: bool = False):
    """A ``keras.callbacks.Callback`` saving with ``model.save`` (or ``save_weights``) when due."""
    import keras  # type: ignore

    class VigiloKerasCallback(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.cp = _attach(data_dir)
            self.step = 0

        def _total(self) -> Optional[int]:
            params = getattr(self, "params", None) or {}
            steps, epochs = params.get("steps"), params.get("epochs")
            return steps * epochs if steps and epochs else None

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            progress(self.step, self._total(), name=name, source="keras")
            if _core._due and self.cp.pending() is not None:
                def save(base: Path) -> Path:
                    path = Path(os.fspath(base) + (".weights.h5" if weights_only else ".keras"))
                    if weights_only:
                        self.model.save_weights(str(path))
                    else:
                        self.model.save(str(path))
                    return path

                self.cp.serve(writer=save, step=self.step)

    return VigiloKerasCallback()
