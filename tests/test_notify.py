"""Warnings that reach the user who is not looking (issue 19, docs/NOTIFY.md).

Real deliveries through the product's own path: ``%vigilo notify add`` → the
sidecar → its delivery worker (``python -m vigilo.notify_worker``, Apprise) →
real receivers on loopback (tests/notify_receivers.py): an SMTP server
(aiosmtpd), an HTTP receiver for json:// and ntfy://, and an HTTPS-intercepting
proxy for Apprise's slack:// and discord:// plugins, which only post to their
services' https hosts. Each payload is checked against the service's
documented format.
"""
from __future__ import annotations

import email
import importlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from vigilo import _notify_cells, _sidecar

from checkpoint_fixtures import until as wait_for
from notify_receivers import HttpReceiver, SmtpReceiver, TlsInterceptingProxy

ROOT = Path(__file__).resolve().parent.parent

SLACK = ("T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7")
DISCORD = ("417429632418316298", "JHZ7lQml277CDHmQKMHI8qBe7bE2ifsHA5KLGI")


@pytest.fixture
def notify_env(monkeypatch, tmp_path):
    """What the launcher gives the sidecar: this interpreter for the worker; short retries for tests."""
    monkeypatch.setenv("VIGILO_PYTHON", sys.executable)
    monkeypatch.setenv("VIGILO_NOTIFY_RETRY_MS", "100,200")
    monkeypatch.setenv("VIGILO_NOTIFY_TIMEOUT_S", "2")
    monkeypatch.delenv("VIGILO_NOTIFY", raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def sidecar(sidecar_built, vigilo_data_dir, notify_env, ip):
    ip.run_line_magic("load_ext", "vigilo")
    discovery = _sidecar.ensure_running(vigilo_data_dir)
    yield discovery


def magic(ip, line: str) -> str:
    return repr(ip.run_line_magic("vigilo", line))


def get(discovery, path: str):
    status, body = _sidecar.request(discovery, "GET", path)
    assert status == 200, body
    return body


def test_real_deliveries_email_json_ntfy_slack_discord_each_in_its_documented_format(sidecar_built, vigilo_data_dir, notify_env, monkeypatch, ip):
    http = HttpReceiver()
    smtp = SmtpReceiver()
    proxy = TlsInterceptingProxy(notify_env, {"hooks.slack.com": (200, b"ok"), "discord.com": (204, b"")})
    # The worker (a child of the sidecar) reaches https services through the proxy, as requests does for any HTTPS_PROXY.
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy.port}")
    try:
        ip.run_line_magic("load_ext", "vigilo")
        discovery = _sidecar.ensure_running(vigilo_data_dir)
        urls = [
            f"mailto://127.0.0.1:{smtp.port}?from=vigilo@example.com&to=me@example.com",
            f"json://127.0.0.1:{http.port}/hooks/vigilo",
            f"ntfy://127.0.0.1:{http.port}/vigilo-topic",
            f"slack://{'/'.join(SLACK)}/?verify=no",
            f"discord://{'/'.join(DISCORD)}/?verify=no",
        ]
        for url in urls:
            assert "Channel added." in magic(ip, f"notify add {url}")
        out = magic(ip, "notify test")
        assert out.count("✓") == 5, out

        [mail] = smtp.messages
        assert mail["from"] == "vigilo@example.com" and mail["to"] == ["me@example.com"]
        parsed = email.message_from_string(mail["content"])
        assert parsed["Subject"] == "Vigilo test"
        text = "".join(p.get_payload(decode=True).decode() for p in parsed.walk() if p.get_content_type() == "text/plain")
        assert "this channel works" in text

        by_path = {r["path"]: r for r in http.requests}
        # Apprise's JSON notification (appriseit.com/services/json): version, title, message, type.
        body = json.loads(by_path["/hooks/vigilo"]["raw"])
        assert by_path["/hooks/vigilo"]["headers"]["Content-Type"] == "application/json"
        assert body["version"] == "1.0" and body["title"] == "Vigilo test" and "this channel works" in body["message"] and body["type"] == "info"
        # ntfy's JSON publishing (docs.ntfy.sh/publish/#publish-as-json): POST to the root URL with topic, title, message.
        ntfy = json.loads(by_path["/"]["raw"])
        assert ntfy["topic"] == "vigilo-topic" and ntfy["title"] == "Vigilo test" and "this channel works" in ntfy["message"]

        by_host = {r["host"]: r for r in proxy.requests}
        # Slack incoming webhook (api.slack.com/messaging/webhooks): POST /services/T/B/X, JSON with text or attachments/blocks.
        slack = by_host["hooks.slack.com"]
        assert slack["method"] == "POST" and slack["path"] == "/services/" + "/".join(SLACK)
        payload = json.loads(slack["raw"])
        assert any(k in payload for k in ("text", "attachments", "blocks"))
        assert "this channel works" in json.dumps(payload)
        # Discord execute-webhook (discord.com/developers/docs/resources/webhook): POST /api/webhooks/ID/TOKEN with content or embeds.
        discord = by_host["discord.com"]
        assert discord["method"] == "POST" and discord["path"].startswith("/api/webhooks/" + "/".join(DISCORD))
        payload = json.loads(discord["raw"])
        assert payload.get("content") or payload.get("embeds")
        assert "this channel works" in json.dumps(payload)

        listed = magic(ip, "notify list")
        for secret in (*SLACK[1:], DISCORD[1], "vigilo-topic"):
            assert secret not in listed
    finally:
        _sidecar.stop(vigilo_data_dir)
        for r in (http, smtp, proxy):
            r.stop()


def test_failing_channels_retry_then_fail_visibly_and_no_secret_reaches_answers_files_or_logs(sidecar, vigilo_data_dir, ip):
    discovery = sidecar
    failing = HttpReceiver(lambda _p: (500, b'{"error":"boom"}'))
    secret = "pw-Zq81xKv0"
    token = "tk-77aa55cc33ee"
    try:
        magic(ip, f"notify add json://vigilo:{secret}@127.0.0.1:{failing.port}/x/{token}?key={token}")
        magic(ip, "notify add ntfy://127.0.0.1:9/" + token)  # refused: nothing listens on port 9
        out = magic(ip, "notify test")
        assert out.count("✗") == 2, out
        assert len(failing.requests) == 3  # one attempt and two retries
        alerts = get(discovery, "/alerts?ruleId=notify.failed")["alerts"]
        assert len(alerts) == 2 and all("failed after 3 attempts" in a["message"] for a in alerts)
        # Visible where the user looks: the %vigilo report carries it at the top.
        report = get(discovery, "/report")
        assert "Notification to json://" in report["text"].split("\n\n")[0], report["text"][:400]
        assert "All clear" not in report["text"]  # a red banner and "All clear" under it would contradict
        answers = json.dumps([get(discovery, p) for p in ("/notify", "/alerts", "/alerts/active", "/report", "/metrics", "/openapi.json")])
        answers += out + magic(ip, "notify list")
        for s in (secret, token):
            assert s not in answers
        # The whole data dir and the sidecar's log, except the 0600 file that holds the URLs.
        _sidecar.request(discovery, "POST", "/notify/test", {"waitS": 10})
        for path in Path(vigilo_data_dir).rglob("*"):
            if path.is_file() and path.name != "notify.json":
                data = path.read_bytes()
                assert secret.encode() not in data and token.encode() not in data, path
        notify_file = Path(vigilo_data_dir) / "notify.json"
        assert stat.S_IMODE(notify_file.stat().st_mode) == 0o600
        assert secret in notify_file.read_text()
    finally:
        failing.stop()


def test_a_tqdm_loop_that_completes_sends_training_finished(vigilo_data_dir, notify_env, sidecar_fast_heartbeat):
    jupyter_client = importlib.import_module("jupyter_client")
    http = HttpReceiver()
    discovery = sidecar_fast_heartbeat  # started after notify_env: the worker runs this interpreter
    km = jupyter_client.KernelManager(kernel_name="python3")
    try:
        # Any finished loop counts here (the default asks 5 min, so that a quick eval loop says nothing).
        assert _sidecar.request(discovery, "POST", "/settings/notify", {"trainingMinMin": 0})[0] == 200
        assert _sidecar.request(discovery, "POST", "/notify/channels", {"url": f"json://127.0.0.1:{http.port}/t"})[0] == 201
        km.start_kernel(env={**os.environ, "VIGILO_DATA_DIR": str(vigilo_data_dir)})
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        def run(code: str) -> dict:
            seen: dict = {}
            reply = client.execute_interactive(code, timeout=60, output_hook=lambda m: seen.update(m["content"].get("data") or {}))
            assert reply["content"]["status"] == "ok", reply["content"]
            return seen

        run("%load_ext vigilo\n%vigilo\nfrom tqdm.auto import tqdm")
        # The heartbeat (every second here) hooks tqdm once it is imported; the loop below is quicker than a beat.
        wait_for(lambda: "True" in run("import tqdm.std as _std; getattr(_std.tqdm.close, '_vigilo_hooked', False)").get("text/plain", ""), "tqdm hooked")
        run("for _ in tqdm(range(500), desc='epochs'):\n    pass\n")
        wait_for(lambda: http.requests, "a message at the receiver")
        body = http.json(0)
        assert body["title"] == "Training finished"
        assert body["message"].startswith("Training finished: epochs ran 500 of 500 steps")
        client.stop_channels()
    finally:
        km.shutdown_kernel(now=True) if km.has_kernel else None
        http.stop()


def test_a_long_cell_that_ends_sends_cell_finished_with_its_duration(sidecar, ip):
    discovery = sidecar
    http = HttpReceiver()
    try:
        magic(ip, f"notify add json://127.0.0.1:{http.port}/cells")
        assert "cell" in magic(ip, "notify cell 20").split("On: ")[1].split(";")[0]
        now = [1000.0]
        timer = _notify_cells.CellTimer(None, "kernel-under-test", clock=lambda: now[0])

        class Info:
            execution_count = 7

        class Result:
            success = True
            execution_count = 7

        timer.pre(Info())
        now[0] += 5 * 60  # a short cell: nothing
        timer.post(Result())
        timer.pre(Info())
        now[0] += 25 * 60
        timer.post(Result())
        wait_for(lambda: http.requests, "the long cell's message")
        assert http.json(0)["message"] == "Cell [7] finished after 25 min. The notebook is waiting for you."
        assert len(http.requests) == 1
        counts = get(discovery, "/notify")["counts"]["cell"]
        assert counts == {"sent": 1}
    finally:
        http.stop()


def test_notify_on_off_takes_the_rule_names_the_sidecar_knows_and_names_them_when_one_is_wrong(sidecar, ip):
    assert "; off: spend" in magic(ip, "notify off spend")
    with pytest.raises(UsageError) as refused:
        ip.run_line_magic("vigilo", "notify off spending")
    # The sidecar decides (src/shared/notify-api.ts NOTIFY_RULES) and says which names exist.
    assert str(refused.value) == '%vigilo notify: body.rules: no rule "spending": one of runtime, idle, oom, disk, checkpoint, training, cell, spend, kernel'


def test_apprise_missing_is_said_with_the_one_line_fix(sidecar_built, vigilo_data_dir, notify_env, monkeypatch, tmp_path):
    # An interpreter that has vigilo but no apprise: a venv without site packages, vigilo on its path.
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    shim = venv / "bin" / "python-vigilo"
    shim.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {venv / 'bin' / 'python'} \"$@\"\n")
    shim.chmod(0o755)
    monkeypatch.setenv("VIGILO_PYTHON", str(shim))
    discovery = _sidecar.ensure_running(vigilo_data_dir)
    status, _ = _sidecar.request(discovery, "POST", "/notify/channels", {"url": "ntfy://127.0.0.1:9/t"})
    assert status == 201
    worker = wait_for(lambda: (w := get(discovery, "/notify")["worker"])["state"] == "unavailable" and w, "the worker's verdict")
    assert "Apprise is not installed" in worker["reason"] and worker["fix"].startswith("pip install 'vigilo[notify]'")
    status, answer = _sidecar.request(discovery, "POST", "/notify/test", {"waitS": 5})
    assert "pip install 'vigilo[notify]'" in answer["deliveries"][0]["error"]


def test_the_worker_masks_the_same_secrets_as_the_sidecar_on_the_shared_vectors():
    """One truth table for both sides of the pipe (src/server/notify/module.spec.ts reads it too)."""
    from vigilo import notify_worker

    vectors = json.loads((ROOT / "test" / "vectors" / "notify-secrets.json").read_text())["vectors"]
    assert len(vectors) > 5
    for v in vectors:
        said = notify_worker.scrub(f"failed for {v['url']}: " + " | ".join(v["hide"] + v["keep"]), notify_worker.secrets_of(v["url"]))
        assert [h for h in v["hide"] if h in said] == [], v["url"]
        assert [k for k in v["keep"] if k not in said] == [], v["url"]


def test_the_worker_scrubs_every_secret_part_of_a_url_from_what_it_says():
    from vigilo import notify_worker

    url = "mailtos://me%40corp.io:p%40ss-W0rd@smtp.corp.io:465/extra-path?to=boss@corp.io&pass=abc123xyz"
    said = "login as me@corp.io with p@ss-W0rd failed (abc123xyz) at smtp.corp.io for extra-path"
    scrubbed = notify_worker.scrub(said, notify_worker.secrets_of(url))
    for secret in ("me@corp.io", "p@ss-W0rd", "abc123xyz", "extra-path", "boss@corp.io"):
        assert secret not in scrubbed
    assert "smtp.corp.io" in scrubbed  # a host name is not a secret
    tg = notify_worker.scrub("tgram to 123456789:AAE-sekret chat 4567", notify_worker.secrets_of("tgram://123456789:AAE-sekret/4567"))
    assert "AAE-sekret" not in tg and "123456789" not in tg and "4567" not in tg
