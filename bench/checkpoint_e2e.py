"""Checkpoint bench, kernel side (issue 10). After `npx tsc -p tsconfig.node.json`:

    .venv/bin/python bench/checkpoint_e2e.py [--gib 1] [--rounds 3]

1. ``vigilo.checkpoint.step()`` cost when nothing is due (watching, no order),
   and, for scale, an empty Python call.
2. Trigger-to-verified for a 1 GiB state: a real sidecar on a simulated Colab
   whose Drive is a local folder; "Checkpoint now" (POST /checkpoints) → the
   order rides the heartbeat answer (1 s here, 10 s by default) → the loop's
   step() pickles the state to staging → the sidecar copies, fsyncs, reads back
   and compares sha256, renames. Reported: wall time from the POST to the
   verified record, split into order delivery, the kernel's save and the
   sidecar's copy + verify.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from checkpoint_fixtures import Sidecar, fake_colab, until  # noqa: E402

import vigilo.checkpoint as ckpt  # noqa: E402
from vigilo.checkpoint import _core  # noqa: E402


def step_cost(n: int = 2_000_000) -> None:
    def noop():
        pass

    base = min(timeit.repeat(noop, number=n, repeat=5)) / n * 1e9
    cost = min(timeit.repeat(ckpt.step, number=n, repeat=5)) / n * 1e9
    print(f"step() while watching, nothing due: {cost:.0f} ns per call (an empty Python function call: {base:.0f} ns), {n:,} calls x 5, best")


def trigger_to_verified(gib: float, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="vigilo-ckpt-e2e-"))
    root = tmp / "root"
    env = fake_colab(root)
    data = tmp / "data"
    os.environ["VIGILO_DATA_DIR"] = str(data)
    sc = Sidecar(data, env, root).start()
    try:
        state = {"weights": os.urandom(1 << 20) * int(gib * 1024)}
        n = 0
        ckpt.watch(model=None, optimizer=None, step=lambda: n, run="bench", weights=state)
        sc.call("PUT", "/checkpoints/settings", {"keep": 1})
        step_cost()  # watching, heartbeat running, no order
        walls, delivery, saves, copies = [], [], [], []
        for r in range(rounds):
            n = r + 1
            t0 = time.monotonic()
            answer = sc.call("POST", "/checkpoints", {})
            until(lambda: _core._due, "the order", timeout=30)
            t_order = time.monotonic()
            result = None
            while result is None:
                ckpt.step()
                result = _core._active.last_result if _core._active.last_result and _core._active.last_result.get("id") == answer["id"] else None
            t_staged = time.monotonic()
            record = until(
                lambda: next((c for c in sc.status()["checkpoints"] if c["id"] == answer["id"] and sc.status()["status"]["saving"] is None), None),
                "verified",
                timeout=300,
            )
            t_done = time.monotonic()
            assert record["verified"], record
            walls.append(t_done - t0)
            delivery.append(t_order - t0)
            saves.append(t_staged - t_order)
            copies.append(t_done - t_staged)
        size = record["bytes"] / (1 << 30)
        med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
        print(
            f"trigger-to-verified, {size:.2f} GiB pickled state, {rounds} rounds, median: {med(walls):.1f} s "
            f"(order delivery {med(delivery):.1f} s with a 1 s heartbeat; kernel pickle to staging {med(saves):.1f} s; "
            f"sidecar copy + fsync + read-back sha256 + rename {med(copies):.1f} s); all runs: {', '.join(f'{w:.1f}' for w in walls)} s"
        )
    finally:
        _core.unwatch()
        sc.stop()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trigger_to_verified(args.gib, args.rounds)
