"""The sidecar answers as its /openapi.json says: a bounded schemathesis run.

A real sidecar (``node bin/vigilo.js serve``) on 127.0.0.1 with a temp data
dir; schemathesis generates requests from the served document (examples,
coverage, fuzzing and stateful phases, fixed seed, bounded examples) and checks
every answer: no 5xx, only documented status codes and content types, answers
matching their schemas, schema-valid requests accepted, invalid ones refused,
405 with Allow for methods a path does not serve. Settings and the reasons for
the few exclusions: tests/schemathesis.toml and EXCLUDED below.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"
TOKEN = "schemathesis-test-token"

# Operations not fuzzed here, each for a reason a generated request would make unsafe:
EXCLUDED = [
    # An endless Server-Sent Events stream (tests: src/server/core/eventStream.spec.ts).
    "/events",
    # Fetch any http(s) URL they are given, or LiteLLM's public price file: they would
    # leave loopback (tests: src/server/llm/pricingSource.spec.ts with loopback servers).
    "/llm/pricing/import",
    "/llm/pricing/update",
    # Copy or mirror arbitrary paths to a destination the request chooses: a fuzzer
    # would copy the test machine's files around (tests: tests/test_checkpoint*.py).
    "/checkpoints/staged",
    "/checkpoints/mirror",
    "/checkpoints/settings",
    # Add a notification channel (any Apprise URL: a generated one may name a host on the
    # internet) and send to the channels: deliveries would leave loopback (tests: tests/test_notify.py
    # and src/server/notify/module.spec.ts with loopback receivers).
    "/notify/channels",
    "/notify/test",
    # Point the OpenTelemetry export at any http(s) URL the request gives: spans and metrics would
    # then leave loopback (tests: tests/test_otel_*.py with loopback receivers and a real Phoenix).
    "/export",
]


def schemathesis_cli() -> str:
    found = Path(sys.executable).with_name("schemathesis")
    if found.exists():
        return str(found)
    which = shutil.which("schemathesis")
    if not which:
        pytest.fail("schemathesis is not installed (pip install -r requirements-dev.txt)")
    return which


@pytest.fixture
def sidecar(sidecar_built, tmp_path):
    """A sidecar on a free loopback port in a temp data dir; stopped afterwards."""
    log = tmp_path / "sidecar.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            ["node", str(sidecar_built), "serve", "--port", "0", "--json", "--data-dir", str(tmp_path / "data")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,  # a file, not a pipe: a chatty sidecar never blocks on a full pipe
            text=True,
            env={**os.environ, "VIGILO_TOKEN": TOKEN, "VIGILO_INTERNET_PROBE": "off"},
        )
    try:
        line = proc.stdout.readline()
        assert line, f"the sidecar did not start: {log.read_text()}"
        announce = json.loads(line)
        assert announce["event"] == "listening"
        yield announce["url"], proc, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.mark.timeout(300)
def test_sidecar_conforms_to_its_openapi_document(sidecar, tmp_path):
    url, proc, log = sidecar
    args = [schemathesis_cli(), "--config-file", str(CONFIG), "--no-color", "run", f"{url}/openapi.json"]
    args += ["--header", f"Authorization: Bearer {TOKEN}"]
    for path in EXCLUDED:
        args += ["--exclude-path", path]
    args += [
        "--max-examples", "15",
        "--seed", "20261130",
        "--workers", "1",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--report", "junit",
        "--report-dir", str(tmp_path / "report"),
    ]
    run = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=280)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-12000:] + "\n--- sidecar log ---\n" + log.read_text()[-6000:]
    assert "No issues found" in out, out[-4000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", out)
    assert generated, out[-4000:]
    # A run that tested (almost) nothing would pass too: make sure it did test.
    assert int(generated.group(1)) >= 300 and generated.group(1) == generated.group(2), out[-4000:]
    assert proc.poll() is None, "the sidecar died during the run"
