"""Cost agreement with LiteLLM's own calculator over the recorded responses (test/fixtures/llm-recorded/), and the
share of LiteLLM's models for OpenAI, Anthropic and Google that Vigilo prices.

    python3 -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install litellm==1.110.2
    LITELLM_LOCAL_MODEL_COST_MAP=True /tmp/litellm-venv/bin/python bench/llm_cost_agreement.py [litellm price file]

LiteLLM reads each recorded body with its own parsers (AnthropicConfig.calculate_usage, its Anthropic and Gemini
stream iterators + stream_chunk_builder, the Responses-API usage transform, VertexGeminiConfig._calculate_usage) and
prices it with cost_per_token on its bundled price map (LITELLM_LOCAL_MODEL_COST_MAP: no network). Vigilo's side is
bench/llm-cost-vigilo.mjs (the sidecar's own usage.ts/pricing.ts and data/pricing.json). Prints a Markdown table.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402
from litellm.cost_calculator import cost_per_token  # noqa: E402
from litellm.llms.anthropic.chat.transformation import AnthropicConfig  # noqa: E402
from litellm.llms.vertex_ai.gemini.vertex_and_google_ai_studio_gemini import VertexGeminiConfig  # noqa: E402
from litellm.types.utils import Usage  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "test" / "fixtures" / "llm-recorded"
PRICE_FILE = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(litellm.__file__).parent / "model_prices_and_context_window_backup.json"


def sse(body: str) -> "list[dict]":
    out = []
    for m in re.finditer(r"^data: ?(.*)$", body, re.M):
        try:
            out.append(json.loads(m.group(1)))
        except ValueError:
            pass
    return out


def anthropic_stream_usage(events: "list[dict]") -> Usage:
    """LiteLLM's own streaming path: its Anthropic chunk parser over every event, then stream_chunk_builder."""
    from litellm.llms.anthropic.chat.handler import ModelResponseIterator

    it = ModelResponseIterator(streaming_response=iter(()), sync_stream=True, json_mode=False)
    chunks = [it.chunk_parser(e) for e in events]
    built = litellm.stream_chunk_builder([c for c in chunks if c is not None])
    return built.usage


def litellm_usage(case: dict) -> "tuple[str, Usage]":
    body = case["response"]["body"]
    stream = case["response"]["contentType"].startswith("text/event-stream")
    provider = case["provider"]
    if provider == "anthropic":
        if stream:
            events = sse(body)
            model = next(e["message"]["model"] for e in events if e.get("type") == "message_start")
            return model, anthropic_stream_usage(events)
        j = json.loads(body)
        return j["model"], AnthropicConfig().calculate_usage(usage_object=j["usage"], reasoning_content=None)
    if provider == "openai":
        if stream:
            events = sse(body)
            last = [e for e in events if e.get("usage")][-1]
            return last["model"], Usage(**last["usage"])
        j = json.loads(body)
        if case["api"] == "responses":
            from litellm.responses.utils import ResponseAPILoggingUtils

            return j["model"], ResponseAPILoggingUtils._transform_response_api_usage_to_chat_usage(j["usage"])
        return j["model"], Usage(**j["usage"])
    j = sse(body)[-1] if stream else json.loads(body)
    model = j.get("modelVersion") or re.search(r"models/([^:/?]+)", case["source"]["recordedUri"]).group(1)
    return model, VertexGeminiConfig._calculate_usage(completion_response=j)


def litellm_cost(case: dict, alias: "str | None") -> "tuple[float | None, str]":
    """LiteLLM's cost under the provider's model name; where LiteLLM has no such entry, under the cloud spelling of
    the same model that Vigilo priced it from (`alias`, e.g. Vertex's), said in the table."""
    try:
        model, usage = litellm_usage(case)
    except Exception as err:  # noqa: BLE001 - reported in the table
        return None, f"usage not read: {type(err).__name__}"
    provider = {"openai": "openai", "anthropic": "anthropic", "google": "gemini"}[case["provider"]]
    try:
        prompt, completion = cost_per_token(model=model, custom_llm_provider=provider, usage_object=usage)
        if prompt + completion > 0 or not (usage.prompt_tokens or usage.completion_tokens):
            return prompt + completion, ""
    except Exception:  # noqa: BLE001
        pass
    if alias and not alias.startswith(("kept", "correction")):
        try:
            prompt, completion = cost_per_token(model=alias, usage_object=usage)
            return prompt + completion, f"LiteLLM has no {model}; priced as its {alias}"
        except Exception:  # noqa: BLE001
            pass
    return None, f"LiteLLM has no price for {model}"


def main() -> None:
    vigilo = json.loads(subprocess.run(["node", str(ROOT / "bench" / "llm-cost-vigilo.mjs"), str(PRICE_FILE)], capture_output=True, text=True, check=True).stdout)
    cases = {json.loads(p.read_text())["id"]: json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*/*.json"))}
    agree = lambda a, b: a is not None and b is not None and abs(a - b) <= max(1e-9, 1e-4 * abs(b))  # noqa: E731
    from importlib.metadata import version

    print(f"litellm {version('litellm')}; price file {PRICE_FILE.name}\n")
    print("| case | model | by hand | Vigilo | LiteLLM | Vigilo = hand | LiteLLM = hand |")
    print("|---|---|---|---|---|---|---|")
    tally = {"vigilo": 0, "litellm": 0, "both": 0}
    for row in vigilo["rows"]:
        case = cases[row["id"]]
        ll, why = litellm_cost(case, row.get("pricedFrom"))
        v_ok, l_ok = agree(row["vigiloUsd"], row["handUsd"]), agree(ll, row["handUsd"])
        tally["vigilo"] += v_ok
        tally["litellm"] += l_ok
        tally["both"] += agree(row["vigiloUsd"], ll)
        fmt = lambda x: "—" if x is None else f"${x:.8f}"  # noqa: E731
        print(f"| {row['id']} | {row['model']} | {fmt(row['handUsd'])} | {fmt(row['vigiloUsd'])} | {fmt(ll)}{' (' + why + ')' if why else ''} | {'yes' if v_ok else 'NO'} | {'yes' if l_ok else 'no'} |")
    n = len(vigilo["rows"])
    print(f"\nVigilo = hand: {tally['vigilo']}/{n}; LiteLLM = hand: {tally['litellm']}/{n}; Vigilo = LiteLLM: {tally['both']}/{n}\n")
    print("| LiteLLM provider | chat models with a price | priced by Vigilo | at LiteLLM's list price |")
    print("|---|---|---|---|")
    tot = [0, 0, 0]
    for name, c in sorted(vigilo["coverage"].items()):
        print(f"| {name} | {c['models']} | {c['priced']} | {c['sameListPrice']} |")
        tot = [tot[0] + c["models"], tot[1] + c["priced"], tot[2] + c["sameListPrice"]]
    print(f"| **all** | {tot[0]} | {tot[1]} ({100 * tot[1] / tot[0]:.1f} %) | {tot[2]} ({100 * tot[2] / tot[0]:.1f} %) |")


main()
