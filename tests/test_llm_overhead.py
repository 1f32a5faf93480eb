"""A coarse guard on what a tracked call costs the notebook's process in CPU (issue 18's budget: 150 µs per call).

CPU, not wall time: the caller thread's CPU (``time.thread_time``) around each call, wrapped and bare interleaved,
plus all the CPU the sender thread spent delivering those calls' events (its own CPU clock). The fake API and
sidecar run in a child process, so their CPU is not counted. A busy machine slows the calls but barely changes
their CPU; the bound is three times the budget: today's code takes about 60-140 µs here, the code before issue 18
(one POST per call over urllib) 580 µs, which fails. bench/llm_overhead_python.py --cpu gives the figures.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import openai
import pytest

from llm_fixtures import *  # noqa: F401,F403

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from llm_overhead_python import Fakes  # noqa: E402  (the bench's fakes, served by a child process)

BUDGET_US = 150.0
CALLS = 300
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]}


def _thread_cpu(thread: threading.Thread) -> float:
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


@pytest.fixture
def fakes():
    """The fake OpenAI API and sidecar in a child process: their CPU (and their GIL) are not this process's."""
    served = Fakes()
    yield served.urls
    served.stop()


def test_a_tracked_call_adds_at_most_three_times_the_cpu_budget_to_the_notebooks_process(llm, fakes):
    llm.configure(url=fakes["sidecar"], token=fakes["token"])

    def client():
        return openai.OpenAI(api_key="sk-fake-key", base_url=fakes["openai"], max_retries=0)

    plain, wrapped = client(), llm.wrap(client())
    for _ in range(30):  # warm-up: connections, lazy imports, the sender thread
        plain.chat.completions.create(**CHAT)
        wrapped.chat.completions.create(**CHAT)
    assert llm.flush(10.0) is True
    sender = next(t for t in threading.enumerate() if t.name == "vigilo-llm-sender")

    bare = tracked = 0.0
    sender_before = _thread_cpu(sender)
    for _ in range(CALLS):
        t0 = time.thread_time()
        plain.chat.completions.create(**CHAT)
        t1 = time.thread_time()
        wrapped.chat.completions.create(**CHAT)
        t2 = time.thread_time()
        bare += t1 - t0
        tracked += t2 - t1
    # The sender delivers in the background (no flush() here: that would move its work onto this thread).
    deadline = time.monotonic() + 60
    while llm.stats()["sent"] < 30 + CALLS and time.monotonic() < deadline:
        time.sleep(0.01)
    delivering = _thread_cpu(sender) - sender_before

    assert llm.stats()["sent"] == 30 + CALLS and llm.stats()["errors"] == 0, llm.stats()
    assert bare > 0 and delivering > 0  # the clocks really count
    added_us = ((tracked - bare) + delivering) / CALLS * 1e6
    print(f"added {added_us:.0f} µs: caller {(tracked - bare) / CALLS * 1e6:.0f}, sender {delivering / CALLS * 1e6:.0f}, bare {bare / CALLS * 1e6:.0f}")
    assert added_us <= 3 * BUDGET_US, (
        f"a tracked call added {added_us:.0f} µs of CPU (caller {(tracked - bare) / CALLS * 1e6:.0f}, "
        f"sender {delivering / CALLS * 1e6:.0f}); the budget is {BUDGET_US:.0f} µs"
    )
