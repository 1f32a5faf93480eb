"""Kernel-side cost of the progress facts, and the heartbeat's size.

    .venv/bin/python bench/predictions_kernel.py [--n 300000] [--runs 5]

1. Time per tqdm update, tqdm alone against tqdm with Vigilo's hook on (close
   wrapped, and a heartbeat thread reading every live bar 10 times a second,
   100x the real 10 s rate, to make any contention visible), in the same
   process, runs interleaved; the ratio of medians is printed.
2. Cost of one ``vigilo.progress(step, total)`` call.
3. The heartbeat body's JSON size: bare, with bars, with PyTorch facts.

Prints one Markdown block (bench/predictions.mjs includes it in docs/BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import tqdm  # noqa: E402  (the user's tqdm: imported before Vigilo looks for it)

from vigilo import _progress  # noqa: E402
from vigilo._kernel import Heartbeat  # noqa: E402


def loop_iter(n: int, sink) -> float:
    t0 = time.perf_counter()
    for _ in tqdm.tqdm(range(n), file=sink, desc="train"):
        pass
    return (time.perf_counter() - t0) / n


def loop_update(n: int, sink) -> float:
    bar = tqdm.tqdm(total=n, file=sink, desc="manual")
    t0 = time.perf_counter()
    for _ in range(n):
        bar.update(1)
    elapsed = time.perf_counter() - t0
    bar.close()
    return elapsed / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sink = open(os.devnull, "w")
    results = {"iter": {"off": [], "on": []}, "update": {"off": [], "on": []}}
    board = _progress.ProgressBoard()
    for _ in range(args.runs):
        for mode in ("off", "on"):
            stop = threading.Event()
            reader = None
            if mode == "on":
                board.hook_tqdm()

                def read():
                    while not stop.wait(0.1):
                        board.snapshot()

                reader = threading.Thread(target=read, daemon=True)
                reader.start()
            results["iter"][mode].append(loop_iter(args.n, sink))
            results["update"][mode].append(loop_update(args.n // 3, sink))
            stop.set()
            if reader:
                reader.join()
            board.unhook_tqdm()

    calls = 200_000
    explicit = _progress.ProgressBoard()
    t0 = time.perf_counter()
    for i in range(calls):
        explicit.report(i, calls, name="train")
    progress_ns = (time.perf_counter() - t0) / calls * 1e9

    # Heartbeat sizes.
    _progress._board = None
    sys.modules.pop("torch", None)
    hb = Heartbeat()
    bare = len(json.dumps(hb.payload()))
    _progress.progress(1200, 10_000, name="train")
    outer = tqdm.tqdm(total=10, file=sink, desc="epochs")
    inner = tqdm.tqdm(total=500, file=sink, desc="batches")
    inner.update(120)
    with_bars = len(json.dumps(hb.payload()))
    gib = 1024**3
    cuda = types.SimpleNamespace(
        is_initialized=lambda: True,
        device_count=lambda: 1,
        memory_allocated=lambda d=None: 9 * gib,
        memory_reserved=lambda d=None: 14 * gib,
        max_memory_allocated=lambda d=None: 10 * gib,
        max_memory_reserved=lambda d=None: 14 * gib,
        memory_stats=lambda d=None: {"num_alloc_retries": 0, "num_ooms": 0, "inactive_split_bytes.all.current": 0},
        get_device_properties=lambda d: types.SimpleNamespace(name="Tesla T4", total_memory=15 * gib, uuid="d37e67a5-91dd-3774-a5cb-99096249601a"),
    )
    torch = types.ModuleType("torch")
    torch.__version__ = "2.5.1+cu121"
    torch.cuda = cuda
    sys.modules["torch"] = torch
    with_torch = len(json.dumps(hb.payload()))
    t0 = time.perf_counter()
    for _ in range(1000):
        hb.payload()
    payload_us = (time.perf_counter() - t0) / 1000 * 1e6
    extra = [tqdm.tqdm(total=100, file=sink, desc=f"bar {i}") for i in range(16)]
    full = len(json.dumps(hb.payload()))
    for bar in extra + [inner, outer]:
        bar.close()
    del sys.modules["torch"]

    med = {k: {m: statistics.median(v) * 1e9 for m, v in modes.items()} for k, modes in results.items()}
    print(f"CPython {sys.version.split()[0]}, tqdm {tqdm.__version__}, {args.runs} interleaved runs of {args.n:,} iterations (`.venv/bin/python bench/predictions_kernel.py`).")
    print()
    print("| tqdm loop | alone (ns/update, median) | with Vigilo's hook (ns/update, median) | ratio of medians | ratio per run pair (min–max) |")
    print("|---|---|---|---|---|")
    for key, label in (("iter", "`for x in tqdm(range(n))`"), ("update", "`bar.update(1)`")):
        off, on = med[key]["off"], med[key]["on"]
        pairs = [b / a for a, b in zip(results[key]["off"], results[key]["on"])]
        print(f"| {label} | {off:.0f} | {on:.0f} | **{on / off:.2f}** | {min(pairs):.2f}–{max(pairs):.2f} |")
    print()
    print("The hook adds no work per update (tqdm is not patched per update; only `close` is wrapped): the spread between runs is this shared 2-core machine's noise.")
    print()
    print(f"One `vigilo.progress(step, total)` call: {progress_ns:.0f} ns. Building the heartbeat body with 3 bars and one GPU's PyTorch facts: {payload_us:.0f} µs (once per 10 s).")
    print()
    print(f"Heartbeat body (JSON): bare {bare} B; with an explicit bar and two nested tqdm bars {with_bars} B; plus PyTorch facts for one GPU {with_torch} B; at the cap of {_progress.MAX_BARS} bars {full} B.")


if __name__ == "__main__":
    main()
