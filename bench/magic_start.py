#!/usr/bin/env python3
"""What `%vigilo` adds to an IPython start: wall time of whole `ipython -c ...` processes, bare
against `%load_ext vigilo` + `%vigilo` (a sidecar started cold in a fresh data dir, and attached to a
running one), and `import vigilo` alone. Run with the project's venv:
    .venv/bin/python bench/magic_start.py [--runs 5]
Medians of interleaved runs; prints the load average beside the table. The sidecar runs on the Node the
launcher picks (vigilo/_sidecar.py find_node; VIGILO_NODE overrides it).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IPYTHON = [sys.executable, "-m", "IPython", "--quick", "--no-banner", "--colors=NoColor"]
MAGIC = "ip = get_ipython(); ip.run_line_magic('load_ext', 'vigilo'); ip.run_line_magic('vigilo', '')"


def run(code: str, env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(IPYTHON + ["-c", code], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def stop_sidecar(data_dir: Path, env: dict) -> None:
    code = "import vigilo._sidecar as s, sys; s.stop(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(data_dir)], env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = dict(os.environ, VIGILO_INTERNET_PROBE="off")
    times: dict = {"bare IPython (`-c pass`)": [], "`import vigilo`": [], "`%vigilo`, sidecar started cold": [], "`%vigilo`, sidecar already running": []}
    load_before = os.getloadavg()
    attach_dir = Path(tempfile.mkdtemp(prefix="vigilo-start-attach-"))
    attach_env = dict(base, VIGILO_DATA_DIR=str(attach_dir))
    run(MAGIC, attach_env)  # leaves that sidecar running for the attach runs
    try:
        for _ in range(args.runs):
            times["bare IPython (`-c pass`)"].append(run("pass", base))
            times["`import vigilo`"].append(run("import vigilo", base))
            cold = Path(tempfile.mkdtemp(prefix="vigilo-start-cold-"))
            env = dict(base, VIGILO_DATA_DIR=str(cold))
            try:
                times["`%vigilo`, sidecar started cold"].append(run(MAGIC, env))
            finally:
                stop_sidecar(cold, env)
                shutil.rmtree(cold, ignore_errors=True)
            times["`%vigilo`, sidecar already running"].append(run(MAGIC, attach_env))
        discovery = json.loads((attach_dir / "sidecar.json").read_text())
    finally:
        stop_sidecar(attach_dir, attach_env)
        shutil.rmtree(attach_dir, ignore_errors=True)
    load_after = os.getloadavg()
    bare = statistics.median(times["bare IPython (`-c pass`)"])
    fmt = lambda l: " / ".join(f"{x:.1f}" for x in l)
    loaded = max(*load_before, *load_after) > 1.5
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; load average {fmt(load_before)} before, {fmt(load_after)} after{' (taken under load)' if loaded else ''}; "
          f"sidecar pid {discovery.get('pid')} version {discovery.get('version')}; {args.runs} interleaved runs, medians")
    print()
    print("| start | median s | over bare IPython | runs (s) |")
    print("|---|---|---|---|")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"| {name} | {m:.2f} | {'—' if values is times['bare IPython (`-c pass`)'] else f'{m - bare:+.2f}'} | {', '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
