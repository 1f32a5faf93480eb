"""The sidecar killed with SIGKILL under a real IPython kernel, N times (issue 17).

    .venv/bin/python bench/lifecycle_kill.py [--kills 20] [--heartbeat 1]

A jupyter_client kernel with ``%vigilo`` calls a wrapped OpenAI client (the
loopback fake of tests/fakes) every 0.2 s. Each round waits until 5 more calls
are stored, kills the sidecar with SIGKILL, and times how long until a new
sidecar (started by the kernel's heartbeat) answers /status. At the end the
kernel flushes, and the calls it made are compared with those the sidecar
stored (distinct event ids). Prints a Markdown table and the load average.
Needs the sidecar built (``npm run build:node``).
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import jupyter_client  # noqa: E402

from fakes.openai_fake import FakeOpenAI  # noqa: E402
from test_lifecycle_kernel import CALL_LOOP, CONVERSATION, run, stored_calls, wait_until  # noqa: E402
from vigilo import _restarts, _sidecar  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--heartbeat", type=float, default=1.0)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="vigilo-bench-kill-")
    load_before = os.getloadavg()
    fake = FakeOpenAI()
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, "VIGILO_DATA_DIR": data, "VIGILO_HEARTBEAT_S": str(args.heartbeat), "VIGILO_INTERNET_PROBE": "off"})
    client = km.client()
    client.start_channels()
    back, zombies = [], 0
    try:
        with fake.server:
            client.wait_for_ready(timeout=60)
            run(client, "%load_ext vigilo\n%vigilo")
            run(client, CALL_LOOP.format(base=fake.base_url, conv=CONVERSATION))
            for kill_no in range(args.kills):
                victim = _sidecar.read_discovery(data)
                already = len(stored_calls(victim))
                wait_until(lambda: len(stored_calls(victim)) >= already + 5, 60, "five calls stored")
                killed = time.monotonic()
                os.kill(victim["pid"], signal.SIGKILL)
                wait_until(lambda: (lambda d: d if d and d["pid"] != victim["pid"] and _sidecar.probe(d, timeout=0.5) else None)(_sidecar.read_discovery(data)), 60, "a new sidecar")
                back.append(time.monotonic() - killed)
                # The heartbeat's restart is complete once it counted it (it saw the new sidecar answer too).
                wait_until(lambda: _restarts.read(Path(data))["count"] == kill_no + 1, 30, "the restart counted")
                time.sleep(0.5)
                zombies += _sidecar.process_state(victim["pid"]) == "Z"
            values = run(client, "_stop.set(); _thread.join(10); _flushed = vigilo.flush(timeout=60)", flushed="_flushed", made="len(made)")
            ids = stored_calls(_sidecar.read_discovery(data))
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
        _sidecar.stop(data)
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min); heartbeat {args.heartbeat} s; {os.cpu_count()} cores\n")
    print("| kills | kill → answering: median | p90 | max | calls made | stored | distinct ids | flush() | zombies | restarts in restarts.json |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    q = sorted(back)
    print(
        f"| {len(back)} | {statistics.median(q):.2f} s | {q[int(0.9 * (len(q) - 1))]:.2f} s | {q[-1]:.2f} s | {values['made']} | {len(ids)} | {len(set(ids))} | "
        f"{values['flushed']} | {zombies} | {_restarts.read(Path(data))['count']} |"
    )


if __name__ == "__main__":
    main()
