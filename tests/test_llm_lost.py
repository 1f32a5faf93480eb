"""No silent loss: calls the Python client dropped past its buffer's disk bound reach the user. The kernel's heartbeat
carries the delivery counters (``llm.delivery``); a real sidecar shows them in GET /llm/usage (``lost``), raises one
alert, and the %vigilo report (GET /report) says "N calls lost" with the reason."""
from __future__ import annotations

from vigilo import _sidecar
from vigilo._kernel import Heartbeat

from fakes.sidecar_fake import TOKEN
from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import openai_client
from test_llm_buffer import _closed_url, _until  # H1's helpers: a URL nothing answers, a bounded wait


def get(discovery, path):
    status, body = _sidecar.request(discovery, "GET", path)
    assert status == 200, body
    return body


def test_calls_dropped_past_the_disk_bound_reach_llm_usage_one_alert_and_the_report(
    llm, fake_openai, vigilo_data_dir, sidecar_built
):
    from vigilo.llm._delivery import runtime

    # The sidecar is away; memory holds one event and the disk about three (one event is about 1.1 kB).
    llm.configure(url=_closed_url(), token=TOKEN, data_dir=str(vigilo_data_dir), max_queue=1, max_spool_bytes=3500)
    client = llm.wrap(openai_client(fake_openai))
    for i in range(10):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"lost {i}"}])
    assert llm.flush(2.0) is False
    assert _until(lambda: llm.stats()["pending"] <= 1), llm.stats()
    with runtime()._send_lock:
        stats = llm.stats()
    dropped = stats["dropped"]
    assert dropped > 0 and "is full" in stats["lastDrop"], stats

    heartbeat = Heartbeat(vigilo_data_dir)
    facts = heartbeat.payload()["llm"]["delivery"]
    assert facts["dropped"] == dropped and facts["lastDrop"] == stats["lastDrop"]
    assert facts["pending"] + facts["spooled"] + dropped == 10, facts

    # A sidecar comes up; the kept events reach it, the dropped ones cannot: the heartbeat says how many.
    discovery = _sidecar.ensure_running(vigilo_data_dir)
    llm.configure(url=None)
    llm.flush(10.0)
    assert llm.stats()["pending"] == 0 and llm.stats()["spooled"] == 0, llm.stats()
    assert get(discovery, "/llm/usage")["lost"] is None  # nothing said before the kernel says it
    assert heartbeat.beat(), heartbeat.last_error
    usage = get(discovery, "/llm/usage")
    assert usage["calls"] == 10 - dropped
    lost = usage["lost"]
    assert lost["calls"] == dropped
    [source] = lost["sources"]
    assert source["kind"] == "kernel" and source["id"] == heartbeat.kernel_id and source["calls"] == dropped
    assert source["reason"] == stats["lastDrop"]
    calls, were = ("call", "was") if dropped == 1 else ("calls", "were")
    assert source["message"].startswith(f"{dropped} LLM {calls} from kernel {heartbeat.kernel_id} {were} not recorded: the disk buffer (")
    assert "is full." in source["message"]
    assert "vigilo.configure(max_spool_bytes=" in source["message"]
    assert lost["summary"].startswith(f"{dropped} call{'' if dropped == 1 else 's'} lost: ") and "is full" in lost["summary"]

    # One alert, however many beats say the same.
    assert heartbeat.beat()
    alerts = [a for a in get(discovery, "/alerts")["alerts"] if a["ruleId"] == "llm.lost"]
    assert len(alerts) == 1 and alerts[0]["message"] == source["message"], alerts

    # The %vigilo report (GET /report, which the magic shows) has the row, with the reason.
    report = get(discovery, "/report")
    assert f"{dropped} call{'' if dropped == 1 else 's'} lost" in report["text"] and "is full" in report["text"]
    assert "Calls lost" in report["html"]


def test_nothing_lost_says_nothing(llm, fake_openai, vigilo_data_dir, sidecar_built):
    discovery = _sidecar.ensure_running(vigilo_data_dir)
    llm.configure(url=discovery["url"], token=discovery["token"], data_dir=str(vigilo_data_dir))
    client = llm.wrap(openai_client(fake_openai))
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "kept"}])
    assert llm.flush(10.0) is True
    heartbeat = Heartbeat(vigilo_data_dir)
    assert heartbeat.payload()["llm"]["delivery"]["dropped"] == 0
    assert heartbeat.beat(), heartbeat.last_error
    assert get(discovery, "/llm/usage")["lost"] is None
    assert not [a for a in get(discovery, "/alerts")["alerts"] if a["ruleId"] == "llm.lost"]
    report = get(discovery, "/report")
    assert "calls lost" not in report["text"].lower() and " lost:" not in report["text"] and "Calls lost" not in report["html"]
    assert "spend today (utc)" in report["text"].lower()  # the LLM section is there, without the row
