"""Vigilo's Keras callback in a real ``model.fit``: Keras 3 on the JAX CPU
backend (requirements-dev.txt pins keras, jax, jaxlib), against a real
sidecar on a simulated Colab with Drive mounted.

The stand-in test in test_checkpoint_callbacks.py drives the documented
callback interface by hand; here Keras itself calls it: ``fit`` sets
``params`` and ``model``, calls ``on_train_batch_end`` after every step, and
``Model.save`` writes the real ``.keras`` zip that the sidecar copies to Drive
and verifies. The checkpoint is then loaded into a fresh model with
``keras.models.load_model`` and its weights compared with the ones the
training loop held at the step it was saved.
"""
from __future__ import annotations

import os

import pytest

# Keras reads its backend once, at its first import.
os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import vigilo.checkpoint as ckpt  # noqa: E402
from vigilo.checkpoint import callbacks  # noqa: E402

from checkpoint_fixtures import colab, finished, own_progress_board, progress_bar, sha, until  # noqa: E402,F401  (fixtures)


pytestmark = pytest.mark.usefixtures("own_progress_board")


def _model():
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    return model


class WeightsAtStep(keras.callbacks.Callback):
    """Keeps the weights after every step (runs after Vigilo's callback, so it sees what was saved)."""

    def __init__(self):
        super().__init__()
        self.step = 0
        self.weights = {}

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.weights[self.step] = [np.array(w) for w in self.model.get_weights()]


def test_keras_fit_reports_progress_saves_a_verified_checkpoint_and_restores_into_a_fresh_model(colab, tmp_path):
    assert keras.backend.backend() == "jax"
    keras.utils.set_random_seed(7)
    x = np.random.default_rng(7).normal(size=(64, 4)).astype("float32")
    y = (x @ np.array([[0.5], [-1.0], [2.0], [0.1]], dtype="float32")).astype("float32")
    model = _model()

    vigilo_cb = callbacks.KerasCallback(name="keras-real")  # attaches this kernel to the sidecar
    requested = colab.call("POST", "/checkpoints", {})["id"]
    until(lambda: callbacks._core._due, "the checkpoint order to reach the kernel")
    seen = WeightsAtStep()
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[vigilo_cb, seen])
    assert len(history.history["loss"]) == 2 and seen.step == 16

    # Saved by Model.save through the callback, copied to Drive and verified by the sidecar.
    record = until(lambda: finished(colab, requested), "the Keras checkpoint verified", timeout=30)
    assert record["verified"] and record["kind"] == "callback" and record["trigger"] == "manual", record
    assert record["path"].endswith(".keras") and record["path"].startswith(str(colab.drive))
    assert sha(record["path"]) == record["sha256"]
    assert ckpt.latest() == record["path"]

    # A fresh model from the file holds exactly the weights of the step it was saved at (not the final ones).
    step = record["step"]
    assert 1 <= step < 16
    fresh = keras.models.load_model(ckpt.latest())
    assert fresh is not model
    restored = fresh.get_weights()
    assert len(restored) == len(seen.weights[step])
    for got, want in zip(restored, seen.weights[step]):
        np.testing.assert_array_equal(got, want)
    assert any(not np.array_equal(a, b) for a, b in zip(restored, model.get_weights())), "training went on after the save"

    # Progress reached /metrics from the real fit: 2 epochs × 8 steps.
    bar = until(lambda: (lambda b: b if b and b.get("n") == 16 else None)(progress_bar(colab, "keras")), "the fit's progress in /metrics", timeout=15)
    assert bar["name"] == "keras-real" and bar["total"] == 16
