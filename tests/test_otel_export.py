"""OTLP metrics and a receiver that never answers, against loopback stand-ins:
an OTLP/HTTP receiver for the http/json protocol (the OTLP specification's JSON
encoding, decoded with json) and a TCP port that accepts and stays silent.
The metrics' content is checked as the SDK encoded it: the GenAI histograms
with the conventions' bucket boundaries, the runtime gauges with VRAM from a
real nvidia-smi capture (through the stand-in nvidia-smi).
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest
from IPython.core.error import UsageError

from vigilo import _sidecar

from otel_fixtures import OtlpJsonReceiver, captured_gpu, gpu_env, llm_event, sidecar, start_sidecar, until  # noqa: F401 - start_sidecar is a fixture

MIB = 1048576
DURATION_BOUNDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


def metrics_by_name(bodies: "list[dict]") -> "dict[str, dict]":
    out: "dict[str, dict]" = {}
    for body in bodies:
        for rm in body.get("resourceMetrics", []):
            for sm in rm.get("scopeMetrics", []):
                for m in sm.get("metrics", []):
                    out[m["name"]] = m
    return out


def attrs(point: dict) -> "dict[str, object]":
    return {a["key"]: next(iter(a["value"].values())) for a in point.get("attributes", [])}


@pytest.fixture
def receiver():
    r = OtlpJsonReceiver()
    yield r
    r.stop()


def test_genai_histograms_and_runtime_gauges_reach_an_otlp_receiver(receiver, tmp_path, start_sidecar, sidecar_built):  # noqa: F811
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "notebook-7",
        **gpu_env(tmp_path),
    }
    discovery = start_sidecar(tmp_path / "data", env)
    sidecar(discovery, "POST", "/llm/events", {"events": [llm_event(i, "metrics") for i in range(3)]})

    def complete() -> "dict[str, dict] | None":
        m = metrics_by_name(receiver.received["/v1/metrics"])
        duration = m.get("gen_ai.client.operation.duration")
        if duration and duration["histogram"]["dataPoints"][0]["count"] in (3, "3") and "vigilo.gpu.memory.used" in m:
            return m
        return None

    m = until(complete, "a metrics export with the three calls and the GPU")
    [d] = m["gen_ai.client.operation.duration"]["histogram"]["dataPoints"]
    assert m["gen_ai.client.operation.duration"]["unit"] == "s"
    assert d["explicitBounds"] == DURATION_BOUNDS
    assert float(d["sum"]) == pytest.approx(3 * 0.85)
    assert attrs(d) == {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18"}
    tokens = {attrs(p)["gen_ai.token.type"]: p for p in m["gen_ai.client.token.usage"]["histogram"]["dataPoints"]}
    assert float(tokens["input"]["sum"]) == 3 * 1200 and float(tokens["output"]["sum"]) == 3 * 4
    assert tokens["input"]["explicitBounds"][:3] == [1, 4, 16] and tokens["input"]["explicitBounds"][-1] == 67108864

    row = captured_gpu()
    [vram] = m["vigilo.gpu.memory.used"]["gauge"]["dataPoints"]
    assert m["vigilo.gpu.memory.used"]["unit"] == "By"
    assert float(vram.get("asDouble", vram.get("asInt"))) == int(row[4]) * MIB
    assert attrs(vram)["vigilo.gpu.name"] == row[2]
    # The conversation id never becomes a metric attribute (bounded cardinality).
    assert all("gen_ai.conversation.id" not in attrs(p) for n in m.values() for kind in ("histogram", "gauge", "sum") for p in n.get(kind, {}).get("dataPoints", []))

    spans = until(lambda: [s for b in receiver.received["/v1/traces"] for rs in b["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]], "spans")
    resource = {a["key"]: next(iter(a["value"].values())) for a in receiver.received["/v1/traces"][0]["resourceSpans"][0]["resource"]["attributes"]}
    assert resource["service.name"] == "notebook-7" and resource["vigilo.platform"] == "local"
    assert {s["name"] for s in spans} == {"chat gpt-4o-mini"}


def test_a_receiver_that_never_answers_does_not_slow_ingest_or_the_sidecar(tmp_path, start_sidecar, sidecar_built):  # noqa: F811
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts (the kernel does), never reads, never answers
    held: "list[socket.socket]" = []

    def hold() -> None:
        while True:
            try:
                held.append(silent.accept()[0])
            except OSError:  # closed at the end of the test
                return

    threading.Thread(target=hold, daemon=True).start()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}", "OTEL_EXPORTER_OTLP_TIMEOUT": "60000", "OTEL_BSP_SCHEDULE_DELAY": "50"}
    try:
        discovery = start_sidecar(tmp_path / "data", env)
        slowest = 0.0
        for batch in range(20):
            t0 = time.perf_counter()
            answer = sidecar(discovery, "POST", "/llm/events", {"events": [llm_event(batch * 50 + i, f"c{batch}") for i in range(50)]})
            slowest = max(slowest, time.perf_counter() - t0)
            assert answer["accepted"] == 50
        status = until(lambda: (s := sidecar(discovery, "GET", "/export"))["queue"]["inFlight"] > 0 and s, "a batch stuck in flight")
        assert status["queue"]["sent"] == 0 and status["queue"]["queued"] + status["queue"]["inFlight"] == 1000
        # The exporter's request hangs for 60 s; ingest and reads answered as usual (generous bound for a loaded machine).
        assert slowest < 2.0, slowest
        t0 = time.perf_counter()
        assert sidecar(discovery, "GET", "/llm/usage")["calls"] == 1000
        assert time.perf_counter() - t0 < 2.0
        # Stopping does not wait for the hung request (60 s timeout): the export's stop is bounded.
        t0 = time.perf_counter()
        assert _sidecar.stop(tmp_path / "data") is True
        assert time.perf_counter() - t0 < 6.0
    finally:
        for s in held:
            s.close()
        silent.close()


@pytest.fixture
def loaded(ip, vigilo_data_dir, sidecar_built, monkeypatch):
    for key in [k for k in os.environ if k.startswith("OTEL_")]:
        monkeypatch.delenv(key)
    ip.run_line_magic("load_ext", "vigilo")
    ip.run_line_magic("vigilo", "")
    yield ip
    ip.run_line_magic("unload_ext", "vigilo")


def test_vigilo_export_turns_the_export_on_and_off_and_keeps_header_values_off_disk(loaded, vigilo_data_dir, receiver):
    assert "OpenTelemetry export is off" in repr(loaded.run_line_magic("vigilo", "export"))
    text = repr(loaded.run_line_magic("vigilo", f"export {receiver.url} --protocol http/json --header authorization=Bearer-s3cret-token"))
    assert f"Exporting to {receiver.url}/v1/traces (http/json)" in text and "message content not sent" in text
    assert "s3cret" not in text

    discovery = json.loads((vigilo_data_dir / "sidecar.json").read_text())
    sidecar(discovery, "POST", "/llm/events", {"events": [llm_event(1, "magic")]})
    until(lambda: receiver.received["/v1/traces"], "the span at the receiver")
    status = sidecar(discovery, "GET", "/export")
    assert status["headerNames"] == ["authorization"] and "s3cret" not in json.dumps(status)
    settings = vigilo_data_dir / "export.json"
    assert "s3cret" not in settings.read_text() and oct(settings.stat().st_mode & 0o777) == "0o600"

    with pytest.raises(UsageError, match="not an http"):
        loaded.run_line_magic("vigilo", "export collector:4318")
    assert "turned off" in repr(loaded.run_line_magic("vigilo", "export off"))
    assert sidecar(discovery, "GET", "/export")["enabled"] is False
