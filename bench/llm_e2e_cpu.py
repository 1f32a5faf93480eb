#!/usr/bin/env python3
"""CPU of a tracked LLM call end to end, as issue 18 measured it: the real openai SDK against a loopback fake
provider, the events delivered to the REAL sidecar (started by the tree's own launcher, as `%vigilo` starts it),
and the CPU counted in both processes: the notebook's (``time.process_time``: every thread, the sender's
included) and the sidecar's (every thread's run time from ``/proc/<pid>/task/*/schedstat``, and its reaped children).

    .venv/bin/python bench/llm_e2e_cpu.py [--calls 300] [--rounds 3] [--baseline-tree /tmp/base]

Per tree (the checkout; with ``--baseline-tree DIR`` also the ``vigilo/`` package in DIR, e.g. b219655 extracted
with its bundle built), in a child process of its own: the sidecar is started with that tree's launcher
(``vigilo._sidecar.ensure_running``: its choice of Node, flags and environment) running that tree's bundle
(``vigilo/sidecar/vigilo-sidecar.cjs``; a checkout's launcher would otherwise run the unbundled bin/vigilo.js),
on a fresh data dir found through ``sidecar.json``. Then, alternated so that drift falls on both:
  back to back   ``--calls`` bare calls, then as many wrapped ones (the wait for their delivery is not counted in
                 the notebook and is in the sidecar), ``--rounds`` times
  0.25 s apart   3 blocks of 20 bare and 20 wrapped calls with a sleep between calls
  1.5 s apart    2 blocks of 6 bare and 6 wrapped calls (each event then travels alone)
Added CPU per call = (wrapped phase - bare phase) / calls, in each process (the sidecar's only back to back: see
the note the table ends with). The fake provider runs in another
child process (bench/llm_overhead_python.py --serve), so its CPU is in neither figure.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

USER_HZ = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """Seconds of CPU of ``pid``: every thread's time on a CPU from /proc/<pid>/task/*/schedstat (nanoseconds; the
    USER_HZ ticks of /proc/<pid>/stat are 10 ms, too coarse for a few calls), plus its reaped children's ticks."""
    total_ns = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as fh:
                total_ns += int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended meanwhile
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return total_ns / 1e9 + (int(fields[13]) + int(fields[14])) / USER_HZ


def child(tree: str, openai_url: str, calls: int, rounds: int) -> "dict[str, Any]":
    sys.path.insert(0, tree)
    data_dir = tempfile.mkdtemp(prefix="vigilo-e2e-")
    os.environ["VIGILO_DATA_DIR"] = data_dir
    os.environ["VIGILO_INTERNET_PROBE"] = "off"
    import openai

    import vigilo
    import vigilo.llm
    from vigilo import _sidecar

    assert Path(vigilo.__file__).resolve().is_relative_to(Path(tree).resolve()), vigilo.__file__
    bundle = Path(tree) / "vigilo" / "sidecar" / "vigilo-sidecar.cjs"
    if not bundle.exists():
        raise SystemExit(f"no bundle at {bundle}: run `npm run build:node` in that tree")
    _sidecar.sidecar_script = lambda: bundle  # what the wheel runs, in every tree
    discovery = _sidecar.ensure_running(Path(data_dir))
    pid = int(discovery["pid"])
    node = Path(f"/proc/{pid}/exe").resolve()
    node_version = subprocess.run([str(node), "--version"], capture_output=True, text=True).stdout.strip()
    try:
        vigilo.configure(data_dir=data_dir)
        chat = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]}

        def client() -> Any:
            return openai.OpenAI(api_key="sk-bench-not-a-key", base_url=openai_url, max_retries=0)

        plain, wrapped = client(), vigilo.wrap(client())
        sent = 0

        def delivered(target: int) -> float:
            t0 = time.process_time()
            deadline = time.monotonic() + 120
            while vigilo.llm.stats()["sent"] < target and time.monotonic() < deadline:
                time.sleep(0.005)
            if vigilo.llm.stats()["sent"] < target:
                raise RuntimeError(f"only {vigilo.llm.stats()['sent']} of {target} events delivered")
            return time.process_time() - t0

        for _ in range(50):
            plain.chat.completions.create(**chat)
            wrapped.chat.completions.create(**chat)
        sent += 50
        delivered(sent)
        time.sleep(1.5)  # past the send interval: the phases start alike

        totals: "dict[str, dict[str, float]]" = {}

        def phase(name: str, c: Any, n: int, gap: float) -> None:
            nonlocal sent
            pr, sc = time.process_time(), proc_cpu(pid)
            for _ in range(n):
                c.chat.completions.create(**chat)
                if gap:
                    time.sleep(gap)
            waited = 0.0
            if c is wrapped:
                sent += n
                waited = delivered(sent)
            t = totals.setdefault(name, {"notebook": 0.0, "sidecar": 0.0, "n": 0})
            t["notebook"] += time.process_time() - pr - waited
            t["sidecar"] += proc_cpu(pid) - sc
            t["n"] += n

        for _ in range(rounds):
            for _ in range(30):  # unmeasured: the bare phase follows a pause, the wrapped one does not
                plain.chat.completions.create(**chat)
            phase("bare", plain, calls, 0.0)
            phase("wrapped", wrapped, calls, 0.0)
            time.sleep(1.1)
        for _ in range(3):
            phase("bare 0.25", plain, 20, 0.25)
            phase("wrapped 0.25", wrapped, 20, 0.25)
        for _ in range(2):
            phase("bare 1.5", plain, 6, 1.5)
            phase("wrapped 1.5", wrapped, 6, 1.5)
        stats = vigilo.llm.stats()
        status, usage = _sidecar.request(discovery, "GET", "/llm/usage")
        plain.close()
        wrapped.close()
    finally:
        try:
            os.kill(pid, signal.SIGTERM)  # the sidecar this child started, by its own pid
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
        except OSError:
            pass
        shutil.rmtree(data_dir, ignore_errors=True)

    def added(kind: str) -> "dict[str, float]":
        w, b = totals[f"wrapped{kind}"], totals[f"bare{kind}"]
        return {k: (w[k] / w["n"] - b[k] / b["n"]) * 1e6 for k in ("notebook", "sidecar")}

    return {
        "node": f"{node_version} ({node})",
        "b2b": added(""),
        "spaced": added(" 0.25"),
        "lone": added(" 1.5"),
        "bareUs": totals["bare"]["notebook"] / totals["bare"]["n"] * 1e6,
        "sent": stats["sent"],
        "lost": stats.get("dropped", 0) + stats.get("failed", 0),
        "usageStatus": status,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-tree", metavar="DIR", help="a tree holding an older vigilo/ (with its bundle built)")
    parser.add_argument("--child", metavar="TREE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        urls = json.loads(sys.stdin.read())
        print(json.dumps(child(args.child, urls["openai"], args.calls, args.rounds)))
        return 0

    from llm_overhead_python import Fakes

    trees = [("checkout", str(ROOT))]
    if args.baseline_tree:
        trees.append((f"baseline {args.baseline_tree}", args.baseline_tree))
    load_before = os.getloadavg()
    fakes = Fakes()
    results = {}
    try:
        for name, tree in trees:
            done = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", tree, "--calls", str(args.calls), "--rounds", str(args.rounds)],
                input=json.dumps(fakes.urls), capture_output=True, text=True, cwd=str(ROOT), timeout=1200,
                env={k: v for k, v in os.environ.items() if k not in ("VIGILO_NODE", "VIGILO_DATA_DIR")},
            )
            if done.returncode != 0:
                raise RuntimeError(f"{name}: {done.stderr[-3000:]}")
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        fakes.stop()
    load_after = os.getloadavg()
    import openai

    loaded = max(load_before[0], load_after[0]) > 1.5
    print(
        f"End-to-end CPU per tracked call: Python {platform.python_version()}, openai {openai.__version__}, real sidecar "
        f"(each tree's launcher and bundle), {os.cpu_count()} CPUs, {_dt.date.today().isoformat()}; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after" + (" (taken under load)" if loaded else "")
    )
    print()
    print("| tree | sidecar's Node | back to back: notebook µs | back to back: sidecar µs | 0.25 s apart: notebook µs | 1.5 s apart: notebook µs | bare call µs | lost |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        cells = [f"{r['b2b']['notebook']:.0f}", f"{r['b2b']['sidecar']:.0f}", f"{r['spaced']['notebook']:.0f}", f"{r['lone']['notebook']:.0f}"]
        print(f"| {name} | {r['node'].split(' ')[0]} | " + " | ".join(cells) + f" | {r['bareUs']:.0f} | {r['lost']} |")
    print()
    print(
        f"added = wrapped minus bare calls, per call, in each process; back to back: {args.rounds} x {args.calls} calls each; "
        "0.25 s apart: 60 each; 1.5 s apart: 12 each (few: read that column as ±100 µs). The sidecar's CPU for spaced calls "
        "is not shown: its own background work and garbage collection over the 15-20 s of such a phase (a few ms) are larger "
        "than what a few dozen events cost; bench/llm-ingest-cpu.mjs measures it per event (one per request, and batched)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
