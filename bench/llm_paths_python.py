#!/usr/bin/env python3
"""Added latency of the newer tracked paths in Python (issue 12): each tracked call against the same call untracked,
same loopback fakes, same run, calls interleaved (paired).

    .venv/bin/python bench/llm_paths_python.py [--calls 500] [--warmup 50]

Variants (tracked vs untracked):
  google-generativeai  GenerativeModel.generate_content, REST     wrap(model) vs a plain model
  google-generativeai  generate_content(stream=True), every chunk  wrap(model) vs a plain model
  google-generativeai  start_chat().send_message                   wrap(model) vs a plain model
  openai               chat.completions.parse                      wrap(client) vs a plain client
  openai               with_raw_response.create (+ parse())       wrap(client) vs a plain client
  openai, unwrapped    chat.completions.create outside track()     the class hook (counts, passes) vs the SDK's own method
  LangChain            ChatOpenAI.invoke                           inside track() vs outside
  LiteLLM              completion(openai/...)                      inside track() vs outside (both pass the callback)

The fakes and the fake sidecar run in a child process (bench/llm_overhead_python.py --serve), as in that bench.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import sys
import time
import warnings
from importlib.metadata import version as _version
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map fetch at import

from llm_overhead_python import Fakes, measure  # noqa: E402  (same fakes, same paired measure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import google.generativeai as legacy
        import litellm
        import openai
        from langchain_openai import ChatOpenAI
        from openai.resources.chat.completions import Completions

    import vigilo
    import vigilo.llm

    fakes = Fakes()
    try:
        urls = fakes.urls
        vigilo.configure(url=urls["sidecar"], token=urls["token"])
        legacy.configure(api_key="bench-not-a-key", transport="rest", client_options={"api_endpoint": urls["gemini"]})

        def oa() -> Any:
            return openai.OpenAI(api_key="sk-bench-not-a-key", base_url=urls["openai"], max_retries=0)

        plain_model, wrapped_model = legacy.GenerativeModel("gemini-2.5-flash"), vigilo.wrap(legacy.GenerativeModel("gemini-2.5-flash"))
        plain_oa, wrapped_oa = oa(), vigilo.wrap(oa())
        gpt = ChatOpenAI(model="gpt-4o-mini", api_key="sk-bench-not-a-key", base_url=urls["openai"], max_retries=0)
        chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}

        def stream(model: Any) -> Callable[[], Any]:
            def call() -> None:
                for _ in model.generate_content("Say hello.", stream=True):
                    pass

            return call

        def tracked(fn: Callable[[], Any]) -> Callable[[], Any]:
            def call() -> Any:
                with vigilo.track():
                    return fn()

            return call

        sdk_create = Completions.create.__wrapped__  # the SDK's own method under the class hook
        lite = dict(model="openai/gpt-4o-mini", messages=chat["messages"], api_base=urls["openai"], api_key="sk-bench-not-a-key")
        variants = [
            ("google-generativeai generate_content", lambda: plain_model.generate_content("Say hello."), lambda: wrapped_model.generate_content("Say hello.")),
            ("google-generativeai stream=True", stream(plain_model), stream(wrapped_model)),
            ("google-generativeai chat send_message", lambda: plain_model.start_chat().send_message("Say hello."), lambda: wrapped_model.start_chat().send_message("Say hello.")),
            ("openai chat.completions.parse", lambda: plain_oa.chat.completions.parse(**chat), lambda: wrapped_oa.chat.completions.parse(**chat)),
            ("openai with_raw_response.create", lambda: plain_oa.chat.completions.with_raw_response.create(**chat).parse(), lambda: wrapped_oa.chat.completions.with_raw_response.create(**chat).parse()),
            ("unwrapped openai, class hook pass-through", lambda: sdk_create(plain_oa.chat.completions, **chat), lambda: plain_oa.chat.completions.create(**chat)),
            ("LangChain ChatOpenAI.invoke in track()", lambda: gpt.invoke("Say hello."), tracked(lambda: gpt.invoke("Say hello."))),
            ("LiteLLM completion in track()", lambda: litellm.completion(**lite), tracked(lambda: litellm.completion(**lite))),
        ]
        with vigilo.track():
            pass  # LiteLLM's callback is added at the first block: both sides of its variant pass through it
        results = []
        started = time.monotonic()
        for label, plain, wrapped in variants:
            results.append((label, measure(plain, wrapped, args.calls, args.warmup)))
            vigilo.flush(30.0)
        time.sleep(1.0)  # LiteLLM's success callbacks run on its worker thread
        flushed = vigilo.flush(60.0)
        elapsed = time.monotonic() - started
        delivered = fakes.count()
        stats = vigilo.llm.stats()
    finally:
        fakes.stop()

    print(
        f"Tracked vs untracked, Python {platform.python_version()} ({os.cpu_count()} CPUs), google-generativeai {legacy.__version__}, "
        f"openai {openai.__version__}, litellm {_version('litellm')}, langchain-openai {_version('langchain-openai')}; {_dt.date.today().isoformat()}"
    )
    print(f"{args.calls} measured + {args.warmup} warm-up calls per side per variant, interleaved; times per call")
    print()
    print("| variant | n | untracked p50 ms | tracked p50 ms | paired Δ median µs | untracked p99 ms | tracked p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for label, r in results:
        print(f"| {label} | {r['n']} | {r['plain']['p50']:.3f} | {r['wrapped']['p50']:.3f} | **{r['pairedMedianUs']:.1f}** | {r['plain']['p99']:.3f} | {r['wrapped']['p99']:.3f} |")
    print()
    print(
        f"Events at the fake sidecar: {delivered['events']} {delivered['bySdk']}; flush() -> {flushed}; "
        f"sent {stats['sent']}, dropped {stats['dropped']}, errors {stats['errors']}. Run time {elapsed:.0f} s."
    )
    return 0 if stats["errors"] == 0 and flushed else 1


if __name__ == "__main__":
    sys.exit(main())
