"""A real Prometheus (Debian's package, /usr/bin/prometheus) scrapes the sidecar
with the scrape config docs/TEAMS.md gives (bearer token from a file), and a
PromQL query over Prometheus's HTTP API returns the VRAM in use (a stand-in
nvidia-smi replaying a real H100 capture) and the session time left (a fake
Colab filesystem). promtool, from the same package, lints the exposition.
"""
from __future__ import annotations

import re
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from checkpoint_fixtures import fake_colab
from otel_fixtures import PROMETHEUS, ROOT, Server, captured_gpu, free_port, gpu_env, http, start_sidecar, until  # noqa: F401 - start_sidecar is a fixture

DOC = ROOT / "docs" / "TEAMS.md"
MIB = 1048576


def documented_scrape_job() -> str:
    """The scrape job exactly as docs/TEAMS.md prints it (the block after `<!-- scrape-config -->`)."""
    m = re.search(r"<!-- scrape-config -->\s*```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert m, "docs/TEAMS.md lost its scrape-config block"
    return m.group(1)


@pytest.fixture
def colab_with_gpu(tmp_path, start_sidecar, sidecar_built):  # noqa: F811
    env = {**fake_colab(tmp_path / "root", drive=False, runtime_age_s=3600), **gpu_env(tmp_path)}
    discovery = start_sidecar(tmp_path / "data", env)
    until(lambda: http("GET", discovery["url"] + "/metrics", headers={"Authorization": f"Bearer {discovery['token']}"})[1].get("gpu", {}).get("devices"), "the first GPU sample")
    return discovery


def test_prometheus_scrapes_the_sidecar_with_the_documented_config_and_promql_returns_vram_and_session_time_left(colab_with_gpu, tmp_path):
    if not PROMETHEUS.exists():
        raise AssertionError("/usr/bin/prometheus is missing: run ./scripts/setup.sh (it installs Debian's prometheus)")
    discovery = colab_with_gpu
    token_file = tmp_path / "vigilo.token"
    token_file.write_text(discovery["token"])
    token_file.chmod(0o600)
    host_port = discovery["url"].split("//", 1)[1].rstrip("/")
    job = documented_scrape_job().replace("/etc/prometheus/vigilo.token", str(token_file)).replace("127.0.0.1:PORT", host_port)
    # The test's own global section only makes the first scrape come sooner than the docs' 15 s.
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n" + job)
    check = subprocess.run(["/usr/bin/promtool", "check", "config", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    port = free_port()
    prom = Server(
        [str(PROMETHEUS), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
        {"PATH": "/usr/bin:/bin"},
        tmp_path / "prometheus.log",
        cwd=tmp_path,
    )
    api = f"http://127.0.0.1:{port}/api/v1"

    def query(promql: str) -> "list[dict]":
        status, body = http("GET", f"{api}/query?query={urllib.parse.quote(promql)}")
        assert status == 200 and body["status"] == "success", body
        return body["data"]["result"]

    try:
        until(lambda: http("GET", f"http://127.0.0.1:{port}/-/ready", timeout=2)[0] == 200, "Prometheus to be ready")
        up = until(lambda: (r := query('up{job="vigilo"}')) and r[0]["value"][1] == "1" and r, "a successful scrape of the sidecar (up == 1)")
        assert up[0]["metric"]["instance"] == host_port

        row = captured_gpu()  # index, uuid, name, memory.total (MiB), memory.used (MiB), ...
        [vram] = query("vigilo_gpu_memory_used_bytes")
        assert vram["metric"]["name"] == row[2] and vram["metric"]["gpu"] == row[0]
        assert float(vram["value"][1]) == int(row[4]) * MIB
        [ratio] = query("vigilo_gpu_memory_used_bytes / vigilo_gpu_memory_total_bytes")
        assert float(ratio["value"][1]) == pytest.approx(int(row[4]) / int(row[3]))

        [left] = query("vigilo_session_remaining_seconds")
        # Colab's 12 h lifetime, the runtime started an hour ago (fake /proc/1/stat).
        assert 12 * 3600 - 3600 - 120 <= float(left["value"][1]) <= 12 * 3600 - 3600
        [hours] = query('vigilo_session_remaining_seconds / 3600 < 12')
        assert float(hours["value"][1]) < 11
    finally:
        prom.stop()


def test_promtool_finds_no_naming_or_format_problem_in_the_exposition(colab_with_gpu):
    discovery = colab_with_gpu
    status, text = http("GET", discovery["url"] + "/metrics/prometheus", headers={"Authorization": f"Bearer {discovery['token']}"})
    assert status == 200 and "vigilo_gpu_memory_used_bytes" in text
    lint = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert lint.returncode == 0 and lint.stdout.strip() == "" and lint.stderr.strip() == "", lint.stdout + lint.stderr


def test_the_scrape_without_the_token_is_refused(colab_with_gpu):
    status, _ = http("GET", colab_with_gpu["url"] + "/metrics/prometheus")
    assert status == 401
