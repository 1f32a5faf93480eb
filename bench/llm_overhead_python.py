#!/usr/bin/env python3
"""Added latency of ``vigilo.wrap()`` per call in Python: p50 / p99 of each wrapped client against
the same SDK client unwrapped, same loopback fake provider, same run, calls interleaved.

    .venv/bin/python bench/llm_overhead_python.py [--calls 2000] [--warmup 200]

Variants (one wrapped and one unwrapped client each, both pointed at the same fake):
  openai       chat.completions.create            (JSON)
  openai       chat.completions.create(stream=True)  (SSE, every chunk read)
  anthropic    messages.create                    (JSON)
  google-genai models.generate_content            (JSON)
  openai       chat.completions.create, sidecar DOWN (configure(url=) a closed 127.0.0.1 port)

The fake providers and the fake sidecar are the test fakes (tests/fakes), served on 127.0.0.1 by
a child process (this script with --serve), so that their own Python work does not share the
measuring interpreter's GIL. Only the wrapper's work (the note taken on the caller's thread and
the background sender thread that builds and POSTs the events) runs in the measured process,
as it would in a notebook kernel. All servers are stopped at the end.

CPU per call (issue 18): ``--cpu [--baseline REV]`` measures, for the real openai SDK against the loopback fake,
the CPU a wrapped call adds in the notebook's process: the caller thread's (``time.thread_time``), the sender
thread's (its own CPU clock) and the whole process's (``time.process_time``, the fakes run in another process),
bare vs wrapped, in rounds, same run; then unwrapped calls alone vs interleaved with wrapped ones whose events are
being delivered. Each tree runs in its own child process (the checkout's ``vigilo``, and with ``--baseline REV``
the ``vigilo/`` of that commit, extracted with ``git archive``), alternately, against the same fakes.

    .venv/bin/python bench/llm_overhead_python.py --cpu --baseline b219655 [--calls 300] [--rounds 5]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import socket
import subprocess
import sys
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

# Everything here is on loopback: never let an HTTP proxy from the environment in between.
for _name in ("NO_PROXY", "no_proxy"):
    _have = os.environ.get(_name, "")
    os.environ[_name] = ",".join(x for x in (_have, "127.0.0.1", "localhost") if x)


# ---------------------------------------------------------------------------------------- child
def serve() -> None:
    """Child process: start the fakes, print their addresses, answer 'count' lines, stop on EOF."""
    # The fakes write the headers and the body of a response in two send()s; with Nagle's algorithm on,
    # the second waits for the client's delayed ACK (40 ms on Linux) on some calls and not others, which
    # buries the wrapper's microseconds under a bimodal 40 ms step. Real APIs do not answer like that:
    # TCP_NODELAY on the fakes' accepted sockets (StreamRequestHandler.setup honours this attribute).
    import socketserver

    socketserver.StreamRequestHandler.disable_nagle_algorithm = True
    # A client that drops a kept-alive connection resets it; count that instead of printing a traceback.
    resets: "dict[int, int]" = {}
    default_handle_error = socketserver.BaseServer.handle_error

    def handle_error(self: Any, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            port = self.server_address[1]
            resets[port] = resets.get(port, 0) + 1
        else:
            default_handle_error(self, request, client_address)

    socketserver.BaseServer.handle_error = handle_error  # type: ignore[method-assign]
    sys.path.insert(0, str(TESTS))
    from fakes.anthropic_fake import FakeAnthropic
    from fakes.gemini_fake import FakeGemini
    from fakes.openai_fake import FakeOpenAI
    from fakes.sidecar_fake import TOKEN, FakeSidecar

    openai_fake, anthropic_fake, gemini_fake, sidecar = FakeOpenAI(), FakeAnthropic(), FakeGemini(), FakeSidecar()
    servers = [openai_fake.server, anthropic_fake.server, gemini_fake.server, sidecar.server]
    for server in servers:
        server.start()
    try:
        print(
            json.dumps(
                {
                    "openai": openai_fake.base_url,
                    "anthropic": anthropic_fake.base_url,
                    "gemini": gemini_fake.base_url,
                    "sidecar": sidecar.url,
                    "token": TOKEN,
                }
            ),
            flush=True,
        )
        for line in sys.stdin:
            if line.strip() == "count":
                by_sdk: "dict[str, int]" = {}
                for event in sidecar.events():
                    name = (event.get("sdk") or {}).get("name", "?")
                    by_sdk[name] = by_sdk.get(name, 0) + 1
                print(json.dumps({"events": sum(by_sdk.values()), "bySdk": by_sdk, "posts": len(sidecar.batches()), "resets": {name: resets.get(s.port, 0) for name, s in zip(("openai", "anthropic", "gemini", "sidecar"), servers)}}), flush=True)
            # Drop the recorded provider requests as we go; only the sidecar's are counted.
            for fake in (openai_fake, anthropic_fake, gemini_fake):
                with fake.server._lock:
                    fake.server.requests.clear()
    finally:
        for server in servers:
            server.stop()


class Fakes:
    """The child process holding the fake servers."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
        )
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the fake servers did not start")
        self.urls = json.loads(line)

    def count(self) -> "dict[str, Any]":
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        try:
            if self.proc.stdin and not self.proc.stdin.closed:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()  # our own child, by its handle
            self.proc.wait(timeout=10)


def closed_port() -> int:
    """A 127.0.0.1 port nobody listens on (bound, released, and checked to refuse connections)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no closed loopback port found")


# ------------------------------------------------------------------------------------ measuring
def percentile(sorted_values: "list[float]", q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def measure(plain_call: Callable[[], Any], wrapped_call: Callable[[], Any], calls: int, warmup: int) -> "dict[str, Any]":
    clock = time.perf_counter_ns

    def once(fn: Callable[[], Any]) -> int:
        t0 = clock()
        fn()
        return clock() - t0

    for _ in range(warmup):
        once(plain_call)
        once(wrapped_call)
    gc.collect()
    plain: "list[int]" = []
    wrapped: "list[int]" = []
    for i in range(calls):
        # Alternate which client goes first so neither always follows the other.
        if i % 2:
            plain.append(once(plain_call))
            wrapped.append(once(wrapped_call))
        else:
            wrapped.append(once(wrapped_call))
            plain.append(once(plain_call))
    paired = sorted(w - p for w, p in zip(wrapped, plain))
    p, w = sorted(plain), sorted(wrapped)
    return {
        "n": calls,
        "plain": {"p50": percentile(p, 0.5) / 1e6, "p99": percentile(p, 0.99) / 1e6},
        "wrapped": {"p50": percentile(w, 0.5) / 1e6, "p99": percentile(w, 0.99) / 1e6},
        "pairedMedianUs": percentile(paired, 0.5) / 1e3,
    }


# ------------------------------------------------------------------------------ CPU per call
def _thread_cpu(thread: threading.Thread) -> float:
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


SPACED_CALLS = 60
SPACED_BLOCKS = 3
SPACED_GAP_S = 0.25
LONE_CALLS = 16
LONE_GAP_S = 1.5


def cpu_child(root: str, urls: "dict[str, str]", calls: int, rounds: int) -> "dict[str, Any]":
    """In a child process: the vigilo package at ``root``; bare, wrapped and interleaved rounds of chat.completions."""
    sys.path.insert(0, root)
    import openai

    import vigilo
    import vigilo.llm

    assert Path(vigilo.__file__).resolve().is_relative_to(Path(root).resolve()), vigilo.__file__
    # As users run it: the sidecar found through <data dir>/sidecar.json, not configure(url=...).
    data_dir = tempfile.mkdtemp(prefix="vigilo-bench-data-")
    with open(os.path.join(data_dir, "sidecar.json"), "w", encoding="utf-8") as fh:
        json.dump({"url": urls["sidecar"], "token": urls["token"], "pid": os.getppid()}, fh)
    vigilo.configure(data_dir=data_dir)
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]}

    def client() -> Any:
        return openai.OpenAI(api_key="sk-bench-not-a-key", base_url=urls["openai"], max_retries=0)

    plain, wrapped = client(), vigilo.wrap(client())

    def delivered(target: int) -> float:
        """Wait until the sidecar has ``target`` events from this process; the caller-thread CPU the wait took."""
        t0 = time.thread_time()
        deadline = time.monotonic() + 120
        while vigilo.llm.stats()["sent"] < target and time.monotonic() < deadline:
            time.sleep(0.005)
        return time.thread_time() - t0

    for _ in range(50):  # warm-up: connections, lazy imports, the sender thread
        plain.chat.completions.create(**chat)
        wrapped.chat.completions.create(**chat)
    delivered(50)
    sender = next(t for t in threading.enumerate() if t.name == "vigilo-llm-sender")
    out = {k: 0.0 for k in ("bareCaller", "bareProcess", "wrappedCaller", "wrappedProcess", "sender", "mixedBareCaller", "mixedWrappedCaller", "mixedSender", "mixedProcess")}
    bare_walls: "list[float]" = []
    mixed_walls: "list[float]" = []
    sent = 50
    gc.collect()
    for _ in range(rounds):
        for _ in range(30):  # unmeasured: the bare phase follows a pause (the wait for delivery), the wrapped one does not
            plain.chat.completions.create(**chat)
        th, pr = time.thread_time(), time.process_time()
        for _ in range(calls):
            w0 = time.perf_counter()
            plain.chat.completions.create(**chat)
            bare_walls.append(time.perf_counter() - w0)
        out["bareCaller"] += time.thread_time() - th
        out["bareProcess"] += time.process_time() - pr

        th, pr, se = time.thread_time(), time.process_time(), _thread_cpu(sender)
        for _ in range(calls):
            wrapped.chat.completions.create(**chat)
        caller = time.thread_time() - th
        sent += calls
        waited = delivered(sent)
        out["wrappedCaller"] += caller
        out["wrappedProcess"] += time.process_time() - pr - waited
        out["sender"] += _thread_cpu(sender) - se

        # Unwrapped calls while wrapped ones' events are being delivered (one each, alternately).
        pr, se = time.process_time(), _thread_cpu(sender)
        for _ in range(calls):
            t0, w0 = time.thread_time(), time.perf_counter()
            plain.chat.completions.create(**chat)
            mixed_walls.append(time.perf_counter() - w0)
            out["mixedBareCaller"] += time.thread_time() - t0
            t0 = time.thread_time()
            wrapped.chat.completions.create(**chat)
            out["mixedWrappedCaller"] += time.thread_time() - t0
        sent += calls
        waited = delivered(sent)
        out["mixedProcess"] += time.process_time() - pr - waited
        out["mixedSender"] += _thread_cpu(sender) - se
    # Calls as far apart as real LLM calls are (longer than the coalescing window): blocks of bare and wrapped calls,
    # alternated so that a drift of the machine's speed falls on both.
    process = {"bare": 0.0, "wrapped": 0.0}
    spaced_sender = 0.0
    for _ in range(SPACED_BLOCKS):
        for name, c in (("bare", plain), ("wrapped", wrapped)):
            pr, se = time.process_time(), _thread_cpu(sender)
            for _ in range(SPACED_CALLS // SPACED_BLOCKS):
                c.chat.completions.create(**chat)
                time.sleep(SPACED_GAP_S)
            waited = 0.0
            if c is wrapped:
                sent += SPACED_CALLS // SPACED_BLOCKS
                waited = delivered(sent)
                spaced_sender += _thread_cpu(sender) - se
            process[name] += time.process_time() - pr - waited
    # Calls further apart than the send interval (as real LLM calls, which take seconds): each event travels alone.
    se = _thread_cpu(sender)
    for _ in range(LONE_CALLS):
        wrapped.chat.completions.create(**chat)
        time.sleep(LONE_GAP_S)
    sent += LONE_CALLS
    delivered(sent)
    lone_sender_us = (_thread_cpu(sender) - se) / LONE_CALLS * 1e6
    spaced_added_us = (process["wrapped"] - process["bare"]) / SPACED_CALLS * 1e6
    stats = vigilo.llm.stats()
    shutil.rmtree(data_dir, ignore_errors=True)
    plain.close()
    wrapped.close()
    bare_walls.sort()
    mixed_walls.sort()
    n = calls * rounds
    return {
        "n": n,
        "perCallUs": {k: v / n * 1e6 for k, v in out.items()},
        "bareWallP50Ms": percentile(bare_walls, 0.5) * 1e3,
        "mixedBareWallP50Ms": percentile(mixed_walls, 0.5) * 1e3,
        "spacedAddedUs": spaced_added_us,
        "spacedSenderUs": spaced_sender / SPACED_CALLS * 1e6,
        "loneSenderUs": lone_sender_us,
        "sent": stats["sent"],
        "lost": stats.get("dropped", 0) + stats.get("failed", 0),
        "errors": stats["errors"],
    }


def _extract(rev: str, into: Path) -> Path:
    """``vigilo/`` of commit ``rev``, extracted under ``into`` (git archive): the baseline tree."""
    archive = subprocess.run(["git", "archive", rev, "vigilo"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def cpu_main(args: argparse.Namespace) -> int:
    trees = [("checkout", str(ROOT))]
    scratch = tempfile.TemporaryDirectory(prefix="vigilo-bench-baseline-")
    if args.baseline:
        trees.append((f"baseline {args.baseline}", str(_extract(args.baseline, Path(scratch.name)))))
    load_before = os.getloadavg()
    fakes = Fakes()
    results: "dict[str, list[dict[str, Any]]]" = {name: [] for name, _ in trees}
    posts: "dict[str, int]" = {name: 0 for name, _ in trees}
    try:
        for _ in range(args.repeat):
            for name, root in trees:
                before = fakes.count()["posts"]
                done = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--cpu-child", root, "--calls", str(args.calls), "--rounds", str(args.rounds)],
                    input=json.dumps(fakes.urls), capture_output=True, text=True, cwd=str(ROOT), timeout=1200,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"{name}: {done.stderr[-2000:]}")
                results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
                posts[name] += fakes.count()["posts"] - before
    finally:
        fakes.stop()
        scratch.cleanup()
    load_after = os.getloadavg()
    import openai

    print(
        f"CPU per tracked call in the notebook's process: Python {platform.python_version()} ({os.cpu_count()} CPUs), "
        f"openai {openai.__version__}, chat.completions.create against a loopback fake; {_dt.date.today().isoformat()}"
    )
    print(
        f"{args.rounds} rounds x {args.calls} calls per phase, x{args.repeat} per tree, trees alternated; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after" + (" (taken under load)" if max(load_before[0], load_after[0]) > 1.5 else "")
    )
    print()
    cols = [
        ("added caller CPU µs", lambda r: r["wrappedCaller"] - r["bareCaller"]),
        ("sender CPU µs", lambda r: r["sender"]),
        ("added process CPU µs", lambda r: r["wrappedProcess"] - r["bareProcess"]),
        ("bare call CPU µs", lambda r: r["bareProcess"]),
        ("unwrapped CPU, events flowing µs", lambda r: r["mixedBareCaller"]),
        ("added process CPU, interleaved µs", lambda r: r["mixedProcess"] - r["bareProcess"] * 2),
    ]
    header = (
        "| tree | " + " | ".join(c for c, _ in cols)
        + f" | added process CPU, calls {SPACED_GAP_S} s apart µs (sender's) | sender CPU, calls {LONE_GAP_S} s apart µs | unwrapped wall p50 ms alone / events flowing | POSTs per call | lost |"
    )
    print(header)
    print("|" + "|".join("---" for _ in header.split("|")[1:-1]) + "|")
    for name, _ in trees:
        runs = results[name]
        n = sum(r["n"] for r in runs)

        def mean(key: str) -> float:
            return sum(r["perCallUs"][key] * r["n"] for r in runs) / n

        merged = {k: mean(k) for k in runs[0]["perCallUs"]}
        walls = " / ".join(f"{sum(r[k] for r in runs) / len(runs):.3f}" for k in ("bareWallP50Ms", "mixedBareWallP50Ms"))
        wrapped_calls = n * 2 + (50 + SPACED_CALLS + LONE_CALLS) * len(runs)  # wrapped-only, interleaved, warm-up, spaced
        spaced = sum(r["spacedAddedUs"] for r in runs) / len(runs)
        spaced_sender = sum(r.get("spacedSenderUs", float("nan")) for r in runs) / len(runs)
        lone = sum(r.get("loneSenderUs", float("nan")) for r in runs) / len(runs)
        print(
            f"| {name} | " + " | ".join(f"{fn(merged):.0f}" for _, fn in cols)
            + f" | {spaced:.0f} ({spaced_sender:.0f}) | {lone:.0f} | {walls} | {posts[name] / wrapped_calls:.3f} | {sum(r['lost'] for r in runs)} |"
        )
    print()
    print(
        "added = wrapped minus bare, per call; process CPU counts every thread of the notebook's process (the sender's "
        "included) and not the fakes; 'interleaved' = one unwrapped and one wrapped call alternately, minus two bare calls; "
        f"'{SPACED_GAP_S} s apart' = {SPACED_CALLS} calls with a sleep between, as real LLM calls are spaced (each POST then carries what came in the last second: configure(send_interval=1.0)); "
        f"'{LONE_GAP_S} s apart' = {LONE_CALLS} calls, each then sent alone (the sender thread's CPU only)."
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="measured calls per client per variant (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured calls per client per variant first (default 200)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", action="store_true", help="measure CPU per call instead (see the module's doc)")
    parser.add_argument("--baseline", metavar="REV", help="with --cpu: also measure the vigilo/ of this commit")
    parser.add_argument("--rounds", type=int, default=5, help="with --cpu: rounds per tree (default 5)")
    parser.add_argument("--repeat", type=int, default=2, help="with --cpu: children per tree, alternated (default 2)")
    parser.add_argument("--cpu-child", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    if args.cpu_child:
        print(json.dumps(cpu_child(args.cpu_child, json.loads(sys.stdin.read()), args.calls, args.rounds)))
        return 0
    if args.cpu:
        if "--calls" not in sys.argv:
            args.calls = 300
        return cpu_main(args)
    if args.calls < 1 or args.warmup < 0:
        parser.error("--calls must be >= 1 and --warmup >= 0")

    sys.path.insert(0, str(ROOT))
    import anthropic
    import openai
    from google import genai
    from google.genai import types

    import vigilo
    import vigilo.llm

    fakes = Fakes()
    opened: "list[Any]" = []
    try:
        urls = fakes.urls
        vigilo.configure(url=urls["sidecar"], token=urls["token"])

        def oa() -> Any:
            return openai.OpenAI(api_key="sk-bench-not-a-key", base_url=urls["openai"], max_retries=0)

        def an() -> Any:
            return anthropic.Anthropic(api_key="sk-ant-bench-not-a-key", base_url=urls["anthropic"], max_retries=0)

        def gm() -> Any:
            # No retry options: google-genai makes exactly one attempt.
            return genai.Client(api_key="bench-not-a-key", http_options=types.HttpOptions(base_url=urls["gemini"], api_version="v1beta"))

        # Keep every client referenced for the whole run (a genai.Client closes its HTTP client when collected).
        clients = {
            "openai": (oa(), vigilo.wrap(oa())),
            "anthropic": (an(), vigilo.wrap(an())),
            "google": (gm(), vigilo.wrap(gm())),
        }
        opened = [c for pair in clients.values() for c in pair]
        chat = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]}
        claude = {"model": "claude-sonnet-4-6", "max_tokens": 256, "system": "Be brief.", "messages": [{"role": "user", "content": "Say hello."}]}
        gemini_config = types.GenerateContentConfig(system_instruction="Be brief.")

        def openai_json(c: Any) -> Callable[[], Any]:
            return lambda: c.chat.completions.create(**chat)

        def openai_sse(c: Any) -> Callable[[], Any]:
            def call() -> None:
                for _ in c.chat.completions.create(**chat, stream=True):
                    pass

            return call

        def anthropic_json(c: Any) -> Callable[[], Any]:
            return lambda: c.messages.create(**claude)

        def gemini_json(c: Any) -> Callable[[], Any]:
            return lambda: c.models.generate_content(model="gemini-2.5-flash", contents="Say hello.", config=gemini_config)

        variants = [
            ("openai chat.completions", "openai", openai_json),
            ("openai chat.completions stream", "openai", openai_sse),
            ("anthropic messages.create", "anthropic", anthropic_json),
            ("google-genai generate_content", "google", gemini_json),
        ]
        results = []
        started = time.monotonic()
        for label, key, make in variants:
            plain, wrapped = clients[key]
            results.append((label, measure(make(plain), make(wrapped), args.calls, args.warmup)))
            vigilo.flush(30.0)  # each variant starts with an empty buffer
        delivered_up = fakes.count()
        stats_up = vigilo.llm.stats()

        # Sidecar DOWN: the same OpenAI clients, events sent to a port nobody listens on.
        port = closed_port()
        vigilo.configure(url=f"http://127.0.0.1:{port}")
        plain, wrapped = clients["openai"]
        results.append(("openai chat.completions, sidecar DOWN", measure(openai_json(plain), openai_json(wrapped), args.calls, args.warmup)))
        stats_down = vigilo.llm.stats()
        delivered_during_down = fakes.count()["events"] - delivered_up["events"]
        # Sidecar back: what was buffered while it was down is delivered.
        vigilo.configure(url=urls["sidecar"], token=urls["token"])
        flushed = vigilo.flush(60.0)
        elapsed = time.monotonic() - started
        delivered = fakes.count()
        stats_end = vigilo.llm.stats()
    finally:
        for client in opened:
            try:
                client.close()
            except Exception:
                pass
        fakes.stop()

    per_variant = args.calls + args.warmup
    expected = per_variant * (len(variants) + 1)
    sdk_versions = f"openai {openai.__version__}, anthropic {anthropic.__version__}, google-genai {genai.__version__}"
    print(
        f"vigilo.wrap() overhead, Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs), "
        f"{sdk_versions}; {_dt.date.today().isoformat()}"
    )
    print(f"{args.calls} measured + {args.warmup} warm-up calls per client per variant, wrapped/unwrapped interleaved; times per call")
    print()
    header = f"| {'variant':<38} | {'n':>5} | {'unwrapped p50 ms':>16} | {'wrapped p50 ms':>14} | {'Δp50 µs':>8} | {'unwrapped p99 ms':>16} | {'wrapped p99 ms':>14} | {'Δp99 µs':>8} | {'paired Δ median µs':>18} |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for label, r in results:
        d50 = (r["wrapped"]["p50"] - r["plain"]["p50"]) * 1e3
        d99 = (r["wrapped"]["p99"] - r["plain"]["p99"]) * 1e3
        print(
            f"| {label:<38} | {r['n']:>5} | {r['plain']['p50']:>16.3f} | {r['wrapped']['p50']:>14.3f} | {d50:>8.1f} | "
            f"{r['plain']['p99']:>16.3f} | {r['wrapped']['p99']:>14.3f} | {d99:>8.1f} | {r['pairedMedianUs']:>18.1f} |"
        )
    print()
    print(
        f"Telemetry (sidecar up, first {len(variants)} variants): {delivered_up['events']} events at the fake sidecar "
        f"{delivered_up['bySdk']} in {delivered_up['posts']} POSTs; sent {stats_up['sent']}, dropped {stats_up['dropped']}, "
        f"failed {stats_up['failed']}, errors {stats_up['errors']}."
    )
    print(
        f"Sidecar down (127.0.0.1:{port} closed): {delivered_during_down} events delivered during it, "
        f"{stats_down['pending']} buffered, lastError {stats_down['lastError']!r}."
    )
    print(
        f"After pointing back at the sidecar: flush() -> {flushed}; {delivered['events']} of {expected} wrapped calls' events at the sidecar "
        f"{delivered['bySdk']}; sent {stats_end['sent']}, pending {stats_end['pending']}, dropped {stats_end['dropped']}, "
        f"failed {stats_end['failed']}, errors {stats_end['errors']}. Connections reset by a client at the fakes: {delivered['resets']}. "
        f"Run time {elapsed:.0f} s."
    )
    ok = delivered["events"] == expected and stats_end["errors"] == 0 and stats_end["dropped"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
