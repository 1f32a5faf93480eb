"""Framework callbacks against a real sidecar.

PyTorch (needed by transformers and Lightning) and a Keras backend are too
large for CI, so the frameworks are stand-ins that implement only the
documented callback interface each callback relies on, and drive it the way
the framework's loop does:

- transformers ``TrainerCallback``: ``on_step_end(args, state, control)`` then,
  when ``control.should_save`` or ``global_step % save_steps == 0``, the Trainer
  writes ``<output_dir>/checkpoint-<global_step>/`` and calls ``on_save``
  (docs: transformers main_classes/callback, ``TrainerControl.should_save``).
- Lightning ``Callback.on_train_batch_end(trainer, pl_module, outputs, batch,
  batch_idx)`` and ``Trainer.save_checkpoint(filepath)``, ``global_step``,
  ``max_steps``.
- Keras ``keras.callbacks.Callback.on_train_batch_end(batch, logs)``, with
  ``self.model`` and ``self.params`` ({"epochs", "steps"}) set by ``fit``,
  and ``Model.save(path)`` to ``.keras``.
"""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

from vigilo.checkpoint import callbacks

from checkpoint_fixtures import colab, finished, progress_bar, sha, until  # noqa: F401  (fixture)


@pytest.fixture
def frameworks(monkeypatch):
    """Stand-in modules with the documented base classes."""

    class TrainerCallback:  # transformers.TrainerCallback: every hook is optional
        pass

    class Callback:  # lightning.pytorch.callbacks.Callback
        pass

    class KerasCallback:  # keras.callbacks.Callback
        def __init__(self):
            self.model = None
            self.params = {}

        def set_model(self, model):
            self.model = model

        def set_params(self, params):
            self.params = params

    transformers = types.ModuleType("transformers")
    transformers.TrainerCallback = TrainerCallback
    lightning = types.ModuleType("lightning")
    lightning_pytorch = types.ModuleType("lightning.pytorch")
    lightning_callbacks = types.ModuleType("lightning.pytorch.callbacks")
    lightning_callbacks.Callback = Callback
    keras = types.ModuleType("keras")
    keras.callbacks = types.SimpleNamespace(Callback=KerasCallback)
    for name, mod in {
        "transformers": transformers,
        "lightning": lightning,
        "lightning.pytorch": lightning_pytorch,
        "lightning.pytorch.callbacks": lightning_callbacks,
        "keras": keras,
    }.items():
        monkeypatch.setitem(sys.modules, name, mod)


def test_hf_trainer_callback_saves_through_the_trainer_and_copies_its_folder(colab, frameworks, tmp_path):
    cb = callbacks.HFTrainerCallback(name="finetune")
    out = tmp_path / "out"
    args = SimpleNamespace(output_dir=str(out), save_steps=1000)
    state = SimpleNamespace(global_step=0, max_steps=5000)
    requested = None
    for step in range(1, 5000):
        state.global_step = step
        control = SimpleNamespace(should_save=False)
        control = cb.on_step_end(args, state, control) or control
        if control.should_save or step % args.save_steps == 0:
            folder = out / f"checkpoint-{step}"  # what Trainer._save_checkpoint writes
            folder.mkdir(parents=True)
            (folder / "model.safetensors").write_bytes(b"w" * 4096 + str(step).encode())
            (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
            cb.on_save(args, state, control)
            if requested and control.should_save:
                break
        if step == 10:
            requested = colab.call("POST", "/checkpoints", {})["id"]
            until(lambda: callbacks._core._due, "the order to reach the kernel")
    record = until(lambda: finished(colab, requested), "the Trainer's checkpoint verified")
    assert record["verified"] and record["kind"] == "callback" and record["trigger"] == "manual"
    copied = Path(record["path"])
    assert copied.name == f"checkpoint-{record['step']}" and copied.parent == colab.drive / "default"
    assert (copied / "trainer_state.json").read_text() == json.dumps({"global_step": record["step"]})
    # The Trainer's own folder stays where it is (it rotates it with save_total_limit).
    assert (out / copied.name / "model.safetensors").exists()
    bar = until(lambda: progress_bar(colab, "hf-trainer"), "progress from the callback")
    assert bar["name"] == "finetune"


def test_lightning_callback_saves_with_trainer_save_checkpoint_when_due(colab, frameworks, tmp_path):
    cb = callbacks.LightningCallback()
    saved = []

    class Trainer:
        global_step = 0
        max_steps = 200

        def save_checkpoint(self, filepath):
            saved.append(filepath)
            Path(filepath).write_bytes(b"lightning state at %d" % self.global_step)

    trainer = Trainer()
    requested = colab.call("POST", "/checkpoints", {})["id"]
    until(lambda: callbacks._core._due, "the order to reach the kernel")
    for batch_idx in range(50):
        trainer.global_step = batch_idx + 1
        cb.on_train_batch_end(trainer, None, None, None, batch_idx)
    assert len(saved) == 1, "exactly one save for one order"
    record = until(lambda: finished(colab, requested), "the Lightning checkpoint verified")
    assert record["verified"] and record["kind"] == "callback" and record["step"] == 1
    assert Path(record["path"]).read_bytes() == b"lightning state at 1"
    assert record["path"].endswith(".ckpt")
    assert callbacks._core.latest() == record["path"]


def test_keras_callback_saves_the_model_when_due_and_reports_progress(colab, frameworks):
    cb = callbacks.KerasCallback(name="fit")

    class Model:
        def save(self, path):
            Path(path).write_bytes(b"keras zip")

    cb.set_model(Model())
    cb.set_params({"epochs": 2, "steps": 100})
    requested = colab.call("POST", "/checkpoints", {})["id"]
    until(lambda: callbacks._core._due, "the order to reach the kernel")
    for batch in range(5):
        cb.on_train_batch_end(batch, {})
    record = until(lambda: finished(colab, requested), "the Keras checkpoint verified")
    assert record["verified"] and record["path"].endswith("step-1.keras")
    assert sha(record["path"]) == record["sha256"]
    bar = until(lambda: progress_bar(colab, "keras"), "progress from the callback")
    assert bar["total"] == 200
