"""Vigilo on a real NVIDIA GPU: the checks no simulation can make.

    python bench/gpu_real.py [--ramp-s 120] [--budget-s 540] [--fixtures DIR] [--json FILE]

Needs the repository's bundled sidecar (``npm run build:node``), a Node >= 18,
``jupyter_client`` and ``ipykernel``; for the GPU parts an NVIDIA driver
(``nvidia-smi``) and PyTorch with CUDA in the same Python. Runs:

1. sidecar   — started by the launcher the ``%vigilo`` magic uses
               (``vigilo._sidecar.ensure_running``) in a fresh data dir.
2. nvidia-smi — this machine's raw ``nvidia-smi -q -x``, ``--query-gpu`` (the
               sidecar's fields, with and without header) and ``-L`` outputs are
               saved as fixtures in a folder it prints, with the machine described
               (machine.json); the sidecar's ``/metrics`` devices are compared with
               the raw query. Without nvidia-smi: the degraded reason the sidecar
               shows.
3. kernel    — a real IPython kernel (jupyter_client KernelManager) runs
               ``%load_ext vigilo`` / ``%vigilo`` and registers with the sidecar.
4. torch facts — (GPU + torch) 2 GiB held in the kernel; the PyTorch facts the
               sidecar publishes (``gpu.devices[].torch``) against the kernel's own
               ``torch.cuda.memory_stats()`` / ``memory_allocated`` / ``memory_reserved``.
5. OOM       — (GPU + torch) the kernel grows allocations evenly until CUDA
               raises out of memory (about ``--ramp-s`` seconds); meanwhile
               ``/metrics`` is read every 0.5 s. Recorded: Vigilo's warning lead
               (first ``secondsToLimit`` to the real OOM) and the estimate's error
               half way along; then PyTorch's ``num_ooms`` as the sidecar reports it.
6. checkpoint — ``vigilo.checkpoint.watch`` / ``now`` / ``restore`` in the kernel:
               a real torch model + AdamW on the GPU (weights compared tensor by
               tensor after restoring into a fresh model); without torch a plain
               state dict (pickled).

Prints one table (and the load average); ``--json`` also writes the figures.
Every part that cannot run here says why it was skipped. Fits a 10-minute
device call: the OOM ramp is the longest part (``--ramp-s``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vigilo import _sidecar  # noqa: E402

GPU_QUERY = "index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw"  # src/core/nvidiaSmi.ts GPU_QUERY_FIELDS
MARK = "GPU_REAL "


class Bench:
    def __init__(self, budget_s: float) -> None:
        self.t0 = time.monotonic()
        self.budget_s = budget_s
        self.rows: List[Dict[str, str]] = []
        self.figures: Dict[str, Any] = {}

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.t0)

    def row(self, part: str, result: str, figure: str = "", detail: str = "") -> None:
        self.rows.append({"part": part, "result": result, "figure": figure, "detail": detail})
        print(f"[{time.monotonic() - self.t0:6.1f} s] {part}: {result} {figure} {detail}".rstrip(), flush=True)

    def table(self) -> str:
        lines = ["| part | result | figure | detail |", "|---|---|---|---|"]
        for r in self.rows:
            lines.append(f"| {r['part']} | {r['result']} | {r['figure']} | {r['detail'].replace('|', '/')} |")
        return "\n".join(lines)


def until(check: Callable[[], Any], timeout: float, step_s: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step_s)


def metrics(discovery: dict) -> dict:
    status, body = _sidecar.request(discovery, "GET", "/metrics")
    return body if status == 200 and isinstance(body, dict) else {}


# -- machine and nvidia-smi ------------------------------------------------------------------------


def run_text(cmd: List[str], timeout: float = 30) -> Optional[str]:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"<failed: {err}>"
    return done.stdout if done.returncode == 0 else f"<exit {done.returncode}: {done.stderr.strip()[:300]}>"


def describe_machine() -> dict:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    except OSError:
        pass
    mem_kib = None
    try:
        mem_kib = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")))
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "recordedBy": "bench/gpu_real.py",
        "recordedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "os": platform.platform(),
        "cpu": cpu,
        "cpuCount": os.cpu_count(),
        "memoryGiB": round(mem_kib / 1024 ** 2, 1) if mem_kib else None,
        "python": platform.python_version(),
        "node": (run_text([_sidecar.find_node(), "--version"]) or "").strip(),
    }


def xml_field(xml: str, tag: str) -> Optional[str]:
    start = xml.find(f"<{tag}>")
    end = xml.find(f"</{tag}>", start)
    return xml[start + len(tag) + 2 : end].strip() if start >= 0 and end > start else None


def nvidia_smi_part(bench: Bench, discovery: dict, fixtures: Path, machine: dict) -> bool:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        gpu = until(lambda: (lambda g: g if g and g.get("status") not in (None, "pending") else None)(metrics(discovery).get("gpu")), 20) or {}
        shown = gpu.get("status") not in (None, "ok") and bool(gpu.get("reason"))
        bench.row("nvidia-smi", "absent" if shown else "FAILED", f"gpu.status={gpu.get('status')}", f"degraded reason shown: {gpu.get('reason')!r}" if shown else "no reason shown")
        bench.figures["nvidiaSmi"] = {"present": False, "status": gpu.get("status"), "reason": gpu.get("reason")}
        return False
    fixtures.mkdir(parents=True, exist_ok=True)
    outputs = {
        "nvidia-smi-q-x.xml": [smi, "-q", "-x"],
        "nvidia-smi-query-gpu.csv": [smi, f"--query-gpu={GPU_QUERY}", "--format=csv,noheader,nounits"],
        "nvidia-smi-query-gpu-header.csv": [smi, f"--query-gpu={GPU_QUERY}", "--format=csv"],
        "nvidia-smi-L.txt": [smi, "-L"],
        "nvidia-smi.txt": [smi],
    }
    raw = {name: run_text(cmd) or "" for name, cmd in outputs.items()}
    for name, text in raw.items():
        (fixtures / name).write_text(text)
    xml = raw["nvidia-smi-q-x.xml"]
    machine.update({"driverVersion": xml_field(xml, "driver_version"), "cudaVersion": xml_field(xml, "cuda_version"), "gpus": [line.strip() for line in raw["nvidia-smi-L.txt"].splitlines() if line.startswith("GPU ")]})
    machine["commands"] = {name: " ".join(cmd[1:]) for name, cmd in outputs.items()}
    (fixtures / "machine.json").write_text(json.dumps(machine, indent=2) + "\n")
    expected = []
    for line in raw["nvidia-smi-query-gpu.csv"].splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) == 8 and cells[0].isdigit():
            expected.append({"index": int(cells[0]), "uuid": cells[1], "name": cells[2], "memoryTotalMiB": float(cells[3])})
    gpu = until(lambda: (lambda g: g if g and g.get("status") == "ok" and g.get("devices") else None)(metrics(discovery).get("gpu")), 30) or {}
    devices = gpu.get("devices") or []
    got = [{"index": d["index"], "uuid": d["uuid"], "name": d["name"], "memoryTotalMiB": d["memoryTotalMiB"]} for d in devices]
    same = bool(expected) and sorted(got, key=lambda d: d["index"]) == sorted(expected, key=lambda d: d["index"])
    verdict = "index/uuid/name/total equal" if same else f"sidecar {got} vs raw {expected}; reason {gpu.get('reason')}"
    bench.row("nvidia-smi", "ok" if same else "FAILED", f"{len(devices)} of {len(expected)} GPUs parsed", f"{verdict}; fixtures in {fixtures}")
    bench.figures["nvidiaSmi"] = {"present": True, "fixtures": str(fixtures), "driver": machine.get("driverVersion"), "cuda": machine.get("cudaVersion"), "equal": same}
    return bool(devices)


# -- the kernel ------------------------------------------------------------------------------------


class Kernel:
    def __init__(self, env: dict) -> None:
        import jupyter_client  # type: ignore

        self.km = jupyter_client.KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env)
        self.client = self.km.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=90)

    def run(self, code: str, timeout: float) -> dict:
        """Run a cell; the last line it prints after MARK is parsed as JSON."""
        out: List[str] = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"].get("traceback", [])))

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=hook)
        text = "".join(out)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}\n{text[-800:]}")
        found = [line[len(MARK):] for line in text.splitlines() if line.startswith(MARK)]
        return json.loads(found[-1]) if found else {"output": text[-400:]}

    def stop(self) -> None:
        self.client.stop_channels()
        self.km.shutdown_kernel(now=True)


PROBE = f"""
import json
try:
    import torch
    info = {{"torch": torch.__version__, "cuda": bool(torch.cuda.is_available())}}
    if info["cuda"]:
        torch.zeros(1, device="cuda")  # the user's code initialises CUDA; Vigilo never does
        info["device"] = torch.cuda.get_device_name(0)
except ImportError:
    info = {{"torch": None, "cuda": False}}
print({MARK!r} + json.dumps(info))
"""

HOLD = f"""
import json, time, torch
_vigilo_hold = torch.empty(2 * 1024**3, dtype=torch.uint8, device="cuda")
torch.cuda.synchronize()
_s = torch.cuda.memory_stats(0)
print({MARK!r} + json.dumps({{"allocatedBytes": torch.cuda.memory_allocated(0), "reservedBytes": torch.cuda.memory_reserved(0),
    "maxAllocatedBytes": torch.cuda.max_memory_allocated(0), "numAllocRetries": _s.get("num_alloc_retries"), "numOoms": _s.get("num_ooms"),
    "inactiveSplitBytes": _s.get("inactive_split_bytes.all.current")}}))
time.sleep(HEARTBEAT * 2.5)  # two heartbeats carry these figures to the sidecar
"""

RAMP = f"""
import json, time, torch
del _vigilo_hold
torch.cuda.empty_cache()
free0, total = torch.cuda.mem_get_info()
steps = int(RAMP_S / 0.5)
chunk = int(free0 / steps * 1.02)  # evenly to the limit in about RAMP_S seconds
blocks, oom_at, t0 = [], None, time.time()
try:
    while time.time() - t0 < RAMP_S * 2:
        blocks.append(torch.empty(chunk, dtype=torch.uint8, device="cuda"))
        torch.cuda.synchronize()
        time.sleep(0.5)
except torch.cuda.OutOfMemoryError:
    oom_at = time.time()
n = len(blocks)
del blocks
torch.cuda.empty_cache()
print({MARK!r} + json.dumps({{"t0": t0, "oomAt": oom_at, "chunkBytes": chunk, "blocks": n, "free0": free0, "total": total,
    "numOoms": torch.cuda.memory_stats(0).get("num_ooms")}}))
time.sleep(HEARTBEAT * 2.5)
"""

CHECKPOINT = f"""
import json, time
import vigilo.checkpoint as ck
T0 = time.monotonic()
try:
    import torch
    USE_TORCH = torch.cuda.is_available()
except ImportError:
    USE_TORCH = False
if USE_TORCH:
    def build():
        torch.manual_seed(0)
        m = torch.nn.Sequential(torch.nn.Linear(512, 2048), torch.nn.GELU(), torch.nn.Linear(2048, 512), torch.nn.LayerNorm(512)).cuda()
        return m, torch.optim.AdamW(m.parameters(), lr=1e-3)
    model, opt = build()
    for _ in range(5):
        loss = model(torch.randn(64, 512, device="cuda")).pow(2).mean()
        loss.backward(); opt.step(); opt.zero_grad()
else:
    class Plain:
        def __init__(self, w): self.w = w
        def state_dict(self): return {{"w": list(self.w)}}
        def load_state_dict(self, s): self.w = list(s["w"])
    model, opt = Plain([0.5 * i for i in range(1000)]), Plain([1.0, 2.0])
step = 5
ck.watch(model=model, optimizer=opt, step=lambda: step, run="gpu-real")
answer = ck.now()
record = None
deadline = time.monotonic() + 90
while answer.get("accepted") and record is None and time.monotonic() < deadline:
    ck.step()
    st = ck.status()
    if st["status"]["saving"] is None:
        record = next((c for c in st["checkpoints"] if c["id"] == answer["id"]), None)
    time.sleep(0.05)
saved_s = time.monotonic() - T0
if USE_TORCH:
    fresh, fresh_opt = build()
    with torch.no_grad():
        for p in fresh.parameters(): p.add_(1.0)  # differs from the saved weights before restoring
else:
    fresh, fresh_opt = Plain([]), Plain([])
ck.watch(model=fresh, optimizer=fresh_opt, step=lambda: step, run="gpu-real")
state = ck.restore() if record and record.get("verified") else None
if USE_TORCH:
    equal = state is not None and all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values()))
    equal = equal and fresh_opt.state_dict()["state"].keys() == opt.state_dict()["state"].keys()
else:
    equal = state is not None and fresh.w == model.w and fresh_opt.w == opt.w
ck.unwatch()
print({MARK!r} + json.dumps({{"torch": USE_TORCH, "accepted": answer.get("accepted"), "message": answer.get("message"), "record": record,
    "savedS": round(saved_s, 2), "equal": bool(equal)}}))
"""


# -- the parts ---------------------------------------------------------------------------------------


def torch_facts_part(bench: Bench, kernel: Kernel, discovery: dict, heartbeat: float) -> None:
    mine = kernel.run(HOLD.replace("HEARTBEAT", str(heartbeat)), timeout=60)
    dev = until(lambda: ((metrics(discovery).get("gpu") or {}).get("devices") or [{}])[0].get("torch"), 15) or {}
    keys = ["allocatedBytes", "reservedBytes", "maxAllocatedBytes", "numAllocRetries", "numOoms"]
    diff = {k: (dev.get(k), mine.get(k)) for k in keys if dev.get(k) != mine.get(k)}
    bench.row("torch facts", "ok" if dev and not diff else "FAILED", f"{len(keys) - len(diff)} of {len(keys)} equal", f"differ: {diff}" if diff else f"sidecar says: {(dev.get('findings') or ['—'])[0]}")
    bench.figures["torchFacts"] = {"kernel": mine, "sidecar": {k: dev.get(k) for k in keys}, "kind": dev.get("kind")}


def oom_part(bench: Bench, kernel: Kernel, discovery: dict, ramp_s: float, heartbeat: float) -> None:
    seen: List[tuple] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            gpu = metrics(discovery).get("gpu") or {}
            d = (gpu.get("devices") or [{}])[0]
            if d.get("oom"):
                seen.append((time.time(), d["oom"], d.get("memoryUsedMiB")))
            stop.wait(0.5)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        result = kernel.run(RAMP.replace("RAMP_S", str(ramp_s)).replace("HEARTBEAT", str(heartbeat)), timeout=ramp_s * 2 + 60)
    finally:
        stop.set()
        thread.join(timeout=5)
    oom_at, t0 = result.get("oomAt"), result.get("t0")
    if not oom_at:
        bench.row("OOM", "FAILED", "no CUDA OOM", f"{result.get('blocks')} blocks of {result.get('chunkBytes')} B")
        return
    warned = next((t for t, oom, _ in seen if oom.get("secondsToLimit") is not None and oom.get("trend") == "rising"), None)
    lead = None if warned is None else oom_at - warned
    mid = t0 + (oom_at - t0) / 2
    near = min(seen, key=lambda s: abs(s[0] - mid)) if seen else None
    estimate = None if near is None else (near[1].get("secondsToLimit") if near[1].get("secondsToLimit") is not None else near[1].get("estimateS"))
    truth = None if near is None else oom_at - near[0]
    error = None if estimate is None or not truth else abs(estimate - truth) / truth
    torch_after = ((metrics(discovery).get("gpu") or {}).get("devices") or [{}])[0].get("torch") or {}
    bench.row(
        "OOM",
        "ok" if lead is not None and lead > 0 else "NO WARNING",
        f"lead {lead:.0f} s" if lead is not None else "lead —",
        f"real OOM after {oom_at - t0:.0f} s; estimate half way {estimate} s vs true {truth:.0f} s" + (f" (error {error:.0%})" if error is not None else "") + f"; num_ooms kernel {result.get('numOoms')} / sidecar {torch_after.get('numOoms')} ({torch_after.get('kind')})",
    )
    bench.figures["oom"] = {"rampS": oom_at - t0, "leadS": lead, "estimateHalfWayS": estimate, "trueHalfWayS": truth, "error": error, "samples": len(seen), "numOoms": [result.get("numOoms"), torch_after.get("numOoms")]}


def checkpoint_part(bench: Bench, kernel: Kernel) -> None:
    r = kernel.run(CHECKPOINT, timeout=150)
    rec = r.get("record") or {}
    ok = bool(rec.get("verified")) and r.get("equal")
    what = "torch model + AdamW on the GPU" if r.get("torch") else f"plain state dict ({'torch.save: torch is imported' if str(rec.get('path', '')).endswith('.pt') else 'pickle'})"
    bench.row("checkpoint", "ok" if ok else "FAILED", f"{rec.get('bytes', '—')} B verified in {r.get('savedS')} s" if rec else "none", f"{what}; restored equal: {r.get('equal')}; {rec.get('path') or r.get('message')}")
    bench.figures["checkpoint"] = r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ramp-s", type=float, default=120, help="how long the allocations take to fill the GPU (s)")
    ap.add_argument("--budget-s", type=float, default=540, help="skip parts that would not fit in this many seconds")
    ap.add_argument("--heartbeat-s", type=float, default=2, help="kernel heartbeat period (VIGILO_HEARTBEAT_S)")
    ap.add_argument("--fixtures", default=None, help="where the raw nvidia-smi outputs go (default: $OUT or a temp dir)")
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    bench = Bench(args.budget_s)
    machine = describe_machine()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    fixtures = Path(args.fixtures or os.path.join(os.environ.get("OUT") or tempfile.gettempdir(), "vigilo-gpu-real", stamp))
    work = Path(tempfile.mkdtemp(prefix="vigilo-gpu-real-"))
    data_dir = work / "data"
    env = {**os.environ, "VIGILO_DATA_DIR": str(data_dir), "VIGILO_HEARTBEAT_S": str(args.heartbeat_s), "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    os.environ.update({"VIGILO_DATA_DIR": str(data_dir), "VIGILO_HEARTBEAT_S": str(args.heartbeat_s)})
    skipped: List[str] = []
    kernel: Optional[Kernel] = None
    try:
        t = time.monotonic()
        discovery = _sidecar.ensure_running(data_dir)
        bench.row("sidecar", "ok", f"answering in {time.monotonic() - t:.1f} s", f"pid {discovery.get('pid')}, {discovery.get('url') or discovery.get('port')}")
        has_gpu = nvidia_smi_part(bench, discovery, fixtures, machine)

        t = time.monotonic()
        kernel = Kernel(env)
        kernel.run("%load_ext vigilo\n%vigilo", timeout=60)
        registered = until(lambda: any(task.get("kind") == "kernel" and task.get("alive") for task in (_sidecar.request(discovery, "GET", "/tasks")[1] or {}).get("tasks", [])), 20)
        bench.row("kernel + %vigilo", "ok" if registered else "FAILED", f"{time.monotonic() - t:.1f} s", "kernel registered in /tasks" if registered else "kernel not in /tasks")
        info = kernel.run(PROBE, timeout=120)
        machine.update({"torch": info.get("torch"), "torchCuda": info.get("cuda"), "torchDevice": info.get("device")})
        if fixtures.exists():
            (fixtures / "machine.json").write_text(json.dumps(machine, indent=2) + "\n")
        gpu_torch = bool(has_gpu and info.get("cuda"))
        if not gpu_torch:
            why = "; ".join(w for w in ["" if has_gpu else "no NVIDIA GPU (nvidia-smi absent)", "torch not installed" if not info.get("torch") else ("" if info.get("cuda") else "torch has no CUDA")] if w)
            skipped += [f"torch facts ({why})", f"OOM ramp ({why})"]
        else:
            torch_facts_part(bench, kernel, discovery, args.heartbeat_s)
            if bench.left() > args.ramp_s * 1.5 + 90:
                oom_part(bench, kernel, discovery, args.ramp_s, args.heartbeat_s)
            else:
                skipped.append(f"OOM ramp (only {bench.left():.0f} s of the budget left)")
        if bench.left() > 60:
            checkpoint_part(bench, kernel)
        else:
            skipped.append("checkpoint (budget spent)")
    except Exception as err:  # a failed part is a row, then the table
        bench.row("error", "FAILED", "", f"{type(err).__name__}: {str(err)[:400]}")
    finally:
        if kernel is not None:
            kernel.stop()
        _sidecar.stop(data_dir)
        shutil.rmtree(work, ignore_errors=True)

    for s in skipped:
        bench.row(s.split(" (")[0], "skipped", "", s[s.find("(") + 1 : -1] if "(" in s else s)
    print()
    print(f"Machine: {machine.get('cpu')} × {machine.get('cpuCount')}, {machine.get('memoryGiB')} GiB, Python {machine.get('python')}, Node {machine.get('node')}, torch {machine.get('torch') or 'not installed'}"
          + (f", GPU {machine.get('torchDevice') or ', '.join(machine.get('gpus') or [])}, driver {machine.get('driverVersion')}, CUDA {machine.get('cudaVersion')}" if machine.get("gpus") else ", no NVIDIA GPU"))
    print(f"Load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; total {time.monotonic() - bench.t0:.0f} s")
    print()
    print(bench.table())
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "rows": bench.rows, "figures": bench.figures, "skipped": skipped}, indent=2) + "\n")
    return 1 if any(r["result"] == "FAILED" for r in bench.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
