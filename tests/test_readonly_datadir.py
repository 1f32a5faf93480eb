"""A data dir Vigilo cannot write: one sentence with the fix, from the launcher and from the sidecar.

Root ignores file modes, so as root a read-only bind mount stands for a read-only disk (skipped when
mounting is not allowed); as another user, a data dir under a folder without write permission.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from vigilo import _sidecar


def _read_only_data_dir(tmp_path, request):
    if os.geteuid() != 0:
        parent = tmp_path / "locked"
        parent.mkdir()
        parent.chmod(0o555)
        request.addfinalizer(lambda: parent.chmod(0o755))
        return parent / "data", "permission denied"
    data = tmp_path / "data"
    data.mkdir()
    if subprocess.run(["mount", "--bind", str(data), str(data)], capture_output=True).returncode != 0:
        pytest.skip("running as root without the right to mount: nothing can make a folder read-only here")
    request.addfinalizer(lambda: subprocess.run(["umount", "-l", str(data)], capture_output=True))
    subprocess.run(["mount", "-o", "remount,bind,ro", str(data), str(data)], check=True, capture_output=True)
    return data, "it is read-only"


def test_launcher_names_a_read_only_data_dir_and_the_fix(tmp_path, request):
    data, why = _read_only_data_dir(tmp_path, request)
    with pytest.raises(_sidecar.SidecarStartError) as caught:
        _sidecar.ensure_running(data, timeout=5)
    message = str(caught.value)
    assert message == f"Cannot use {data} as the Vigilo data dir ({why}); set VIGILO_DATA_DIR to a writable folder."


def test_sidecar_refuses_a_read_only_data_dir_in_one_line_with_exit_code_3(tmp_path, request, sidecar_built):
    data, _ = _read_only_data_dir(tmp_path, request)
    run = subprocess.run(
        ["node", str(sidecar_built), "serve", "--port", "0", "--json", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 3, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vigilo: "), run.stderr
    assert "--data-dir" in lines[0] and str(data) in lines[0]
    assert run.stdout == ""
