#!/usr/bin/env python3
"""What `%vigilo` adds to an IPython start: wall time of whole `ipython -c ...` processes, bare
against `%load_ext vigilo` + `%vigilo` (a sidecar started cold in a fresh data dir, and attached to a
running one), and `import vigilo` alone. Run with the project's venv:
    .venv/bin/python bench/magic_start.py [--runs 5] [--sidecar PATH] [--baseline TREE]
Medians of interleaved runs; prints the load average beside the table. The sidecar runs on the Node the
launcher picks (vigilo/_sidecar.py find_node; VIGILO_NODE overrides it) and, by default, from the bundle
vigilo/sidecar/vigilo-sidecar.cjs (`npm run build:node`), what users get: in a checkout with dist/ the
launcher would otherwise run bin/vigilo.js, the unbundled tree, which starts slower. `--sidecar` runs
another build (VIGILO_SIDECAR_SCRIPT). `--baseline TREE` adds the cold and attached runs of an older
`vigilo` package, interleaved with these: TREE holds it as TREE/vigilo (e.g.
`git archive <commit> vigilo | tar -x -C TREE`), with the bundle it runs in TREE/vigilo/sidecar/.
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

ROOT = Path(__file__).resolve().parent.parent
IPYTHON = [sys.executable, "-m", "IPython", "--quick", "--no-banner", "--colors=NoColor"]
MAGIC = "ip = get_ipython(); ip.run_line_magic('load_ext', 'vigilo'); ip.run_line_magic('vigilo', '')"


#: Where the IPython processes run: not the checkout, whose ./vigilo `python -m` would put first on the path.
CWD = tempfile.gettempdir()


def run(code: str, env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(IPYTHON + ["-c", code], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=CWD)
    return time.perf_counter() - t


def stop_sidecar(data_dir: Path, env: dict) -> None:
    code = "import vigilo._sidecar as s, sys; s.stop(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(data_dir)], env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=CWD)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sidecar", type=Path, default=ROOT / "vigilo" / "sidecar" / "vigilo-sidecar.cjs", help="the sidecar script to run (default: the bundle users get)")
    parser.add_argument("--baseline", type=Path, help="a directory holding an older vigilo package (TREE/vigilo) to interleave with this one")
    args = parser.parse_args()
    if not args.sidecar.exists():
        sys.exit(f"{args.sidecar} is missing: run `npm run build:node` (or pass --sidecar)")
    base = dict(os.environ, VIGILO_INTERNET_PROBE="off", VIGILO_SIDECAR_SCRIPT=str(args.sidecar.resolve()))
    variants = {"": base}
    if args.baseline:
        # The older package first on the path; it runs the bundle inside it (it may not know VIGILO_SIDECAR_SCRIPT).
        old = {k: v for k, v in base.items() if k != "VIGILO_SIDECAR_SCRIPT"}
        variants = {" (baseline)": dict(old, PYTHONPATH=str(args.baseline.resolve())), "": base}
    times: dict = {"bare IPython (`-c pass`)": [], "`import vigilo`": []}
    for label in variants:
        times[f"`%vigilo`, sidecar started cold{label}"] = []
        times[f"`%vigilo`, sidecar already running{label}"] = []
    load_before = os.getloadavg()
    attach = {label: Path(tempfile.mkdtemp(prefix="vigilo-start-attach-")) for label in variants}
    attach_envs = {label: dict(env, VIGILO_DATA_DIR=str(attach[label])) for label, env in variants.items()}
    for env in attach_envs.values():
        run(MAGIC, env)  # leaves that sidecar running for the attach runs
    try:
        for _ in range(args.runs):
            times["bare IPython (`-c pass`)"].append(run("pass", base))
            times["`import vigilo`"].append(run("import vigilo", base))
            for label, variant in variants.items():
                cold = Path(tempfile.mkdtemp(prefix="vigilo-start-cold-"))
                env = dict(variant, VIGILO_DATA_DIR=str(cold))
                try:
                    times[f"`%vigilo`, sidecar started cold{label}"].append(run(MAGIC, env))
                finally:
                    stop_sidecar(cold, env)
                    shutil.rmtree(cold, ignore_errors=True)
                times[f"`%vigilo`, sidecar already running{label}"].append(run(MAGIC, attach_envs[label]))
        discovery = json.loads((attach[""] / "sidecar.json").read_text())
    finally:
        for label, env in attach_envs.items():
            stop_sidecar(attach[label], env)
            shutil.rmtree(attach[label], ignore_errors=True)
    load_after = os.getloadavg()
    bare = statistics.median(times["bare IPython (`-c pass`)"])
    fmt = lambda l: " / ".join(f"{x:.1f}" for x in l)
    loaded = max(*load_before, *load_after) > 1.5
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; load average {fmt(load_before)} before, {fmt(load_after)} after{' (taken under load)' if loaded else ''}; "
          f"sidecar pid {discovery.get('pid')} version {discovery.get('version')} from {args.sidecar}{f', baseline {args.baseline}' if args.baseline else ''}; "
          f"{args.runs} interleaved runs, medians")
    print()
    print("| start | median s | over bare IPython | runs (s) |")
    print("|---|---|---|---|")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"| {name} | {m:.2f} | {'—' if values is times['bare IPython (`-c pass`)'] else f'{m - bare:+.2f}'} | {', '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
