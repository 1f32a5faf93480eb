"""Vigilo's HF Trainer and Lightning callbacks in real training loops, on CPU.

Opt-in: collected only with VIGILO_TORCH_TESTS=1 (tests/conftest.py), where torch, transformers and lightning are installed. They
are not in requirements-dev.txt: PyTorch's PyPI wheel pulls its CUDA
libraries even on a CPU machine (2.8 GB to download, 5.3 GB installed; see
docs/CHECKPOINTS.md "Real frameworks in CI"). Run it where they are:

    python -m pip install torch transformers accelerate lightning
    VIGILO_TORCH_TESTS=1 python -m pytest tests/test_checkpoint_torch_real.py

Tiny models built from a config (nothing downloaded), a few steps each,
against a real sidecar on a simulated Colab with Drive mounted.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")  # the Trainer needs it with PyTorch
L = pytest.importorskip("lightning")

import vigilo.checkpoint as ckpt  # noqa: E402
from vigilo.checkpoint import callbacks  # noqa: E402

from checkpoint_fixtures import colab, finished, own_progress_board, progress_bar, until  # noqa: E402,F401  (fixtures)


pytestmark = pytest.mark.usefixtures("own_progress_board")


class Tokens(torch.utils.data.Dataset):
    def __init__(self, n=64, length=16, vocab=97):
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(0, vocab, (n, length), generator=g)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def test_hf_trainer_saves_through_vigilo_and_resumes_from_the_verified_copy(colab, tmp_path):
    config = transformers.GPT2Config(vocab_size=97, n_positions=16, n_embd=32, n_layer=1, n_head=2, bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=12, per_device_train_batch_size=8, save_steps=1000, logging_steps=1000,
        report_to=[], use_cpu=True, disable_tqdm=True,
    )
    cb = callbacks.HFTrainerCallback(name="gpt2-tiny")
    requested = colab.call("POST", "/checkpoints", {})["id"]
    until(lambda: callbacks._core._due, "the checkpoint order to reach the kernel")
    transformers.Trainer(model=model, args=args, train_dataset=Tokens(), callbacks=[cb]).train()

    record = until(lambda: finished(colab, requested), "the Trainer's checkpoint verified", timeout=60)
    assert record["verified"] and record["kind"] == "callback", record
    copied = Path(record["path"])
    assert copied.name == f"checkpoint-{record['step']}" and (copied / "trainer_state.json").exists()
    assert json.loads((copied / "trainer_state.json").read_text())["global_step"] == record["step"]
    # Every folder the Trainer saves is copied (here also its final checkpoint-12): latest() is the newest verified one.
    assert ckpt.latest() in {c["path"] for c in colab.status()["checkpoints"] if c["verified"]}

    # The Trainer resumes from Vigilo's verified copy of the requested save: its global step goes on from there.
    torch.manual_seed(0)
    resumed = transformers.Trainer(model=transformers.GPT2LMHeadModel(config), args=args, train_dataset=Tokens())
    resumed.train(resume_from_checkpoint=str(copied))
    assert resumed.state.global_step == 12 and record["step"] < 12
    bar = until(lambda: progress_bar(colab, "hf-trainer"), "progress from the Trainer")
    assert bar["name"] == "gpt2-tiny" and bar["total"] == 12


class Regression(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, _i):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def _loader():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 4, generator=g)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)


def test_lightning_saves_with_trainer_save_checkpoint_and_loads_into_a_fresh_module(colab):
    torch.manual_seed(0)
    module = Regression()
    cb = callbacks.LightningCallback(name="regression")
    requested = colab.call("POST", "/checkpoints", {})["id"]
    until(lambda: callbacks._core._due, "the checkpoint order to reach the kernel")
    trainer = L.Trainer(max_steps=16, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[cb])
    trainer.fit(module, _loader())

    record = until(lambda: finished(colab, requested), "the Lightning checkpoint verified", timeout=60)
    assert record["verified"] and record["path"].endswith(".ckpt"), record
    saved = torch.load(record["path"], map_location="cpu", weights_only=False)
    assert saved["global_step"] == record["step"]
    fresh = Regression.load_from_checkpoint(ckpt.latest())
    for name, tensor in fresh.state_dict().items():
        assert torch.equal(tensor, saved["state_dict"][name])
    bar = until(lambda: progress_bar(colab, "lightning"), "progress from Lightning")
    assert bar["name"] == "regression"
