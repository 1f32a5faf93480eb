"""Delivery of LLM call events: background sending, bounded buffer, discovery, budget, exit, the real sidecar."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import openai
import pytest

from fakes.server import LoopbackServer, Reply, Request
from fakes.sidecar_fake import TOKEN, FakeSidecar
from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import assert_event_shape, openai_client

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = [{"role": "user", "content": "Say hello."}]


def _closed_url() -> str:
    """The URL of a port that was just listening and no longer is."""
    server = LoopbackServer(lambda request: Reply(500, {})).start()
    url = server.url
    server.stop()
    return url


def _event(i: int) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}", "provider": "openai", "operation": "chat.completions",
        "requestModel": "gpt-4o-mini", "responseModel": None, "startedAt": "2026-01-01T00:00:00.000Z", "ttftMs": None,
        "latencyMs": 1.0, "stream": False, "status": "ok", "error": None, "usage": None, "usageEstimated": False,
        "conversationId": None, "fingerprint": None, "tags": {}, "messages": None, "output": None,
        "sdk": {"language": "python", "name": "openai", "version": None},
    }


def test_with_the_sidecar_unreachable_the_call_returns_the_same_response_and_sends_nothing_from_the_caller(
    llm, fake_openai, monkeypatch
):
    from vigilo.llm import _transport

    callers = []
    real_post = _transport.Connection.post

    def spy(*args, **kwargs):
        callers.append(threading.current_thread().name)
        return real_post(*args, **kwargs)

    monkeypatch.setattr(_transport.Connection, "post", spy)
    llm.configure(url=_closed_url(), token=TOKEN)
    unwrapped = openai_client(fake_openai).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    response = llm.wrap(openai_client(fake_openai)).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert response.to_dict() == unwrapped.to_dict()
    assert threading.current_thread().name not in callers, "the caller's thread only enqueues"

    assert llm.flush(2.0) is False  # nowhere to deliver: the event stays buffered
    assert callers.count(threading.current_thread().name) == 1, callers  # flush() itself sends from the caller
    stats = llm.stats()
    assert stats["pending"] == 1 and stats["sent"] == 0 and "unreachable" in stats["lastError"]

    sidecar = FakeSidecar()
    with sidecar.server:
        llm.configure(url=sidecar.url)
        assert llm.flush(5.0) is True
        [event] = sidecar.events()
    assert_event_shape(event)
    assert llm.stats()["sent"] == 1 and llm.stats()["pending"] == 0


def test_past_the_memory_bound_the_oldest_events_go_to_disk_0600_and_all_are_delivered_once_a_sidecar_answers(
    llm, fake_openai, tmp_path
):
    data = tmp_path / "data"
    llm.configure(url=_closed_url(), token=TOKEN, data_dir=str(data), max_queue=3)
    client = llm.wrap(openai_client(fake_openai))
    for i in range(5):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"question {i}"}])
    assert llm.flush(2.0) is False
    stats = llm.stats()
    # 5 > 3 in memory: the oldest went to disk (memory keeps at most the bound); nothing dropped.
    assert stats["dropped"] == 0 and stats["pending"] <= 3 and stats["pending"] + stats["spooled"] == 5, stats
    assert stats["spilled"] == stats["spooled"] >= 2, stats
    spool = data / "llm-spool"
    files = [p for p in spool.iterdir() if not p.name.startswith(".")]
    assert files and all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    assert spool.stat().st_mode & 0o777 == 0o700
    assert b"question 0" in b"".join(p.read_bytes() for p in files)

    sidecar = FakeSidecar()
    with sidecar.server:
        llm.configure(url=sidecar.url)
        assert llm.flush(5.0) is True, llm.stats()
        events = sidecar.events()
    assert sorted(e["messages"][0]["content"] for e in events) == [f"question {i}" for i in range(5)]
    assert len({e["id"] for e in events}) == 5
    assert llm.stats()["spooled"] == 0 and not [p for p in spool.iterdir() if not p.name.startswith(".")]


def test_batches_hold_at_most_500_events(llm, sidecar):
    from vigilo.llm._delivery import runtime

    rt = runtime()
    with rt._send_lock:  # hold the sender back so that the buffer fills up
        for i in range(1201):
            rt.enqueue(_event(i))
    assert llm.flush(10.0) is True
    sizes = [len(batch) for batch in sidecar.batches()]
    assert max(sizes) == 500 and sum(sizes) == 1201
    assert llm.stats()["sent"] == 1201


def test_events_the_sidecar_rejects_are_counted_as_failed_not_raised(llm, sidecar, fake_openai):
    sidecar.status = 400
    response = llm.wrap(openai_client(fake_openai)).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert response.choices[0].message.content == "Hello from the fake."
    assert llm.flush(5.0) is False
    stats = llm.stats()
    assert stats["failed"] == 1 and stats["pending"] == 0 and "400" in stats["lastError"]


def test_internal_failures_are_counted_and_the_call_goes_on(llm, sidecar, fake_openai, monkeypatch):
    from vigilo.llm import _openai

    def broken(*args):
        raise ValueError("a layout this version does not know")

    client = llm.wrap(openai_client(fake_openai))
    prepare = _openai.CHAT.prepare
    monkeypatch.setattr(_openai.CHAT, "prepare", broken)
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content
    monkeypatch.setattr(_openai.CHAT, "prepare", prepare)
    monkeypatch.setattr(_openai.CHAT, "read_response", broken)
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content
    monkeypatch.setattr(_openai.CHAT, "observe", broken)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from the fake."
    llm.flush(5.0)
    stats = llm.stats()
    # prepare failed (call untracked), building the second event failed, each stream item failed to be observed.
    assert stats["errors"] >= 3 and "layout" in stats["lastError"]
    assert len(sidecar.events()) == 1  # the stream, still recorded (without usage)


def test_the_discovery_file_is_read_again_when_the_sidecar_moves(llm, fake_openai, tmp_path):
    first, second = FakeSidecar(), FakeSidecar()
    with first.server, second.server:
        llm.configure(url=None, data_dir=str(tmp_path))
        (tmp_path / "sidecar.json").write_text(json.dumps({"url": first.url, "token": TOKEN, "pid": 1}))
        client = llm.wrap(openai_client(fake_openai))
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert llm.flush(5.0) is True
        (tmp_path / "sidecar.json").write_text(json.dumps({"url": second.url, "token": TOKEN, "pid": 2}))
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert llm.flush(5.0) is True
        assert len(first.events()) == 1 and len(second.events()) == 1


def test_the_hard_budget_refuses_the_next_call_before_it_is_sent_and_lifts_when_the_sidecar_says_so(llm, sidecar, fake_openai):
    client = llm.wrap(openai_client(fake_openai))
    sidecar.budget = {"hardStop": True, "reason": "Daily budget of $5.00 reached ($5.12 spent)"}
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert llm.flush(5.0) is True
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # hard budget off: not refused
    assert llm.flush(5.0) is True

    llm.configure(hard_budget=True)
    sent_before = len(fake_openai.server.requests)
    with pytest.raises(llm.BudgetExceededError, match=r"Daily budget of \$5.00 reached") as refused:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert refused.value.reason == "Daily budget of $5.00 reached ($5.12 spent)"
    with pytest.raises(llm.BudgetExceededError):
        list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert len(fake_openai.server.requests) == sent_before, "a refused call never reaches the provider"

    # Nothing is pending, yet while calls are refused flush() asks the sidecar again (an empty batch):
    # the raised limit lifts the stop.
    sidecar.budget = {"hardStop": False, "reason": None}
    assert llm.flush(5.0) is True
    assert sidecar.batches()[-1] == []
    assert llm.stats()["budget"] == {"hardStop": False, "reason": None}
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(fake_openai.server.requests) == sent_before + 1


def test_pending_events_are_delivered_at_interpreter_exit(fake_openai):
    sidecar = FakeSidecar()
    script = (
        "import openai, vigilo\n"
        f"vigilo.configure(url={sidecar.url!r}, token={TOKEN!r})\n"
        f"client = vigilo.wrap(openai.OpenAI(api_key='sk-fake-key', base_url={fake_openai.base_url!r}, max_retries=0))\n"
        "client.chat.completions.create(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'bye'}])\n"
    )
    with sidecar.server:
        env = {k: v for k, v in os.environ.items() if k != "VIGILO_CAPTURE_CONTENT"}
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        [event] = sidecar.events()
    assert event["messages"] == [{"role": "user", "content": "bye"}]


def test_end_to_end_the_real_sidecar_counts_the_calls_tokens_and_a_stopped_sidecar_changes_nothing(
    llm, fake_openai, vigilo_data_dir, sidecar_built
):
    from vigilo import _sidecar

    discovery = _sidecar.ensure_running(vigilo_data_dir)
    llm.configure(url=None, data_dir=str(vigilo_data_dir))
    client = llm.wrap(openai_client(fake_openai))
    with llm.track(conversation_id="e2e-conversation"):
        first = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert llm.flush(10.0) is True, llm.stats()
    assert llm.stats()["failed"] == 0

    status, usage = _sidecar.request(discovery, "GET", "/llm/usage")
    assert status == 200, usage
    assert usage["calls"] == 2 and usage["errors"] == 0
    assert usage["tokens"]["inputTokens"] == 2 * 1200
    assert usage["tokens"]["cachedInputTokens"] == 2 * 1024
    assert usage["tokens"]["outputTokens"] == 2 * 4
    status, conversations = _sidecar.request(discovery, "GET", "/llm/conversations")
    assert status == 200
    assert "e2e-conversation" in [c["conversationId"] for c in conversations["conversations"]]

    assert _sidecar.stop(vigilo_data_dir) is True
    again = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert again.to_dict() == first.to_dict()
    assert llm.flush(1.0) is False and llm.stats()["pending"] == 1


def _db_bytes(data_dir: Path) -> bytes:
    """Every byte of the sidecar's SQLite files (the database and any journal beside it)."""
    # (The WebAssembly engine holds its lock as a folder, llm.sqlite.lock, while the sidecar runs.)
    return b"\n".join(p.read_bytes() for p in sorted(data_dir.glob("llm.sqlite*")) if p.is_file())


def test_content_capture_off_keeps_content_out_of_the_database_file_and_keys_never_reach_it(
    llm, fake_openai, vigilo_data_dir, sidecar_built, monkeypatch
):
    from vigilo import _sidecar

    discovery = _sidecar.ensure_running(vigilo_data_dir)
    llm.configure(url=None, data_dir=str(vigilo_data_dir))
    api_key = "sk-vigilo-canary-py-91d2"
    client = llm.wrap(openai.OpenAI(api_key=api_key, base_url=fake_openai.base_url, max_retries=0,
                                    default_headers={"x-canary": "hdr-canary-py-77"}))
    monkeypatch.setenv("VIGILO_CAPTURE_CONTENT", "0")
    with llm.track(conversation_id="private-py"):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "vault code PX-5521-OFF"}])
        list(client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                            messages=[{"role": "user", "content": "vault code PX-5521-OFF"}]))
    monkeypatch.delenv("VIGILO_CAPTURE_CONTENT")
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "vault code PX-5521-ON"}])
    assert llm.flush(10.0) is True, llm.stats()

    status, summary = _sidecar.request(discovery, "GET", "/llm/conversations/private-py/summary")
    assert status == 200 and summary["hasContent"] is False, summary
    assert "content capture is off" in summary["text"]
    data = _db_bytes(vigilo_data_dir)
    assert b"PX-5521-ON" in data  # the check sees content when it is there
    assert b"PX-5521-OFF" not in data
    for secret in (api_key.encode(), b"hdr-canary-py-77"):
        assert secret not in data
    assert (vigilo_data_dir / "llm.sqlite").stat().st_mode & 0o777 == 0o600


def test_the_api_key_and_request_headers_never_reach_the_events(llm, sidecar, fake_openai):
    api_key = "sk-vigilo-canary-py-3c7e"
    client = llm.wrap(openai.OpenAI(api_key=api_key, base_url=fake_openai.base_url, max_retries=0,
                                    default_headers={"x-canary": "hdr-canary-py-88"}))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-per-call": "call-canary-py-99"})
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    client.responses.create(model="gpt-4o-mini", input="Say hello.", extra_headers={"x-per-call": "call-canary-py-99"})
    assert llm.flush(5.0) is True
    events = sidecar.events()
    assert len(events) == 3
    text = json.dumps(events)
    for secret in (api_key, "hdr-canary-py-88", "call-canary-py-99", "Bearer", "x-stainless"):
        assert secret not in text


def test_one_oversized_prompt_is_trimmed_and_the_other_calls_of_its_batch_are_all_recorded(
    llm, fake_openai, vigilo_data_dir, sidecar_built
):
    """The real sidecar refuses a body over its limit (413): the wrapper splits the
    batch, sends the oversized call without its content, and loses nothing."""
    from vigilo import _sidecar
    from vigilo.llm._delivery import TRIMMED_TAG, runtime

    discovery = _sidecar.ensure_running(vigilo_data_dir)
    llm.configure(url=None, data_dir=str(vigilo_data_dir))
    client = llm.wrap(openai_client(fake_openai))
    huge = "lorem ipsum " * 200_000  # 2.4 MB of prompt: over the sidecar's 1 MB body limit alone
    rt = runtime()
    with rt._send_lock:  # hold the sender back: all 51 calls travel in one batch
        with llm.track(conversation_id="oversized"):
            for i in range(50):
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"q{i}"}])
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": huge}])
    assert llm.flush(30.0) is True, llm.stats()
    stats = llm.stats()
    assert stats["sent"] == 51 and stats["trimmed"] == 1, stats
    assert stats["failed"] == 0 and stats["tooLarge"] == 0 and stats["pending"] == 0

    status, usage = _sidecar.request(discovery, "GET", "/llm/usage")
    assert status == 200, usage
    # The usage facts of the trimmed call are kept: 51 calls' tokens, not 50.
    assert usage["calls"] == 51 and usage["tokens"]["inputTokens"] == 51 * 1200
    status, recent = _sidecar.request(discovery, "GET", "/llm/calls?limit=100")
    assert status == 200, recent
    trimmed = [c for c in recent["calls"] if TRIMMED_TAG in (c.get("tags") or {})]
    assert len(trimmed) == 1 and len(recent["calls"]) == 51


def test_an_event_too_large_even_without_content_is_dropped_and_counted_and_its_batch_still_lands(
    llm, vigilo_data_dir, sidecar_built
):
    from vigilo import _sidecar
    from vigilo.llm._delivery import runtime

    discovery = _sidecar.ensure_running(vigilo_data_dir)
    llm.configure(url=None, data_dir=str(vigilo_data_dir))
    rt = runtime()
    monster = {**_event(999), "tags": {f"t{i}": "x" * 1000 for i in range(1500)}}  # 1.5 MB of tags
    with rt._send_lock:
        for i in range(10):
            rt.enqueue(_event(i))
        rt.enqueue(monster)
        for i in range(10, 20):
            rt.enqueue(_event(i))
    assert llm.flush(30.0) is False  # something was lost, and flush says so
    stats = llm.stats()
    assert stats["sent"] == 20 and stats["tooLarge"] == 1 and stats["pending"] == 0, stats
    assert "too large" in stats["lastError"]
    status, recent = _sidecar.request(discovery, "GET", "/llm/calls?limit=100")
    assert status == 200
    ids = sorted(c["id"] for c in recent["calls"])
    assert ids == sorted(_event(i)["id"] for i in range(20))


def test_a_413_from_a_sidecar_with_a_lower_limit_splits_the_batch_and_trims_only_the_oversized_event(llm):
    """A sidecar whose limit is below the wrapper's own cap answers 413: the batch is
    split until every part fits, the one event too large alone is sent without content."""
    from vigilo.llm._delivery import TRIMMED_TAG, runtime

    accepted: list[dict] = []
    posts: list[int] = []

    def route(request: Request) -> Reply:
        size = len(json.dumps(request.body, separators=(",", ":")))
        posts.append(size)
        if size > 20_000:
            return Reply(413, {"error": {"code": "body_too_large", "message": "The request body is too large."}})
        accepted.extend(request.body["events"])
        return Reply(200, {"accepted": len(request.body["events"]), "duplicates": 0, "budget": {"hardStop": False, "reason": None}})

    server = LoopbackServer(route, expected_token=TOKEN).start()
    try:
        llm.configure(url=server.url, token=TOKEN)
        rt = runtime()
        big = {**_event(25), "messages": [{"role": "user", "content": "x" * 30_000}], "output": "y" * 100}
        small = [{**_event(i), "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(50) if i != 25]
        with rt._send_lock:
            for event in small[:25] + [big] + small[25:]:
                rt.enqueue(event)
        assert llm.flush(10.0) is True, llm.stats()
    finally:
        server.stop()
    stats = llm.stats()
    assert stats["sent"] == 50 and stats["trimmed"] == 1 and stats["tooLarge"] == 0 and stats["failed"] == 0, stats
    assert sorted(e["id"] for e in accepted) == sorted(_event(i)["id"] for i in range(50))
    [trimmed] = [e for e in accepted if e["id"] == big["id"]]
    assert trimmed["messages"] is None and trimmed["output"] is None and TRIMMED_TAG in trimmed["tags"]
    assert all(e["messages"] for e in accepted if e["id"] != big["id"])  # the others keep their content
    assert max(posts) > 20_000 and len(posts) < 20  # refused first, then split in halves, not one by one
