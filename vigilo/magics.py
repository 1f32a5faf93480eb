"""The ``%vigilo`` line magic: start or attach to the sidecar, show its report.

    %load_ext vigilo
    %vigilo                 start (or attach), register this kernel, show the report
                            (the output refreshes itself at each heartbeat, ~10 s)
    %vigilo status          show the report
    %vigilo stop            stop the sidecar and this kernel's heartbeat
    %vigilo checkpoint      checkpoint status (also: now | mirror DIR | dest PATH | auto on|off | every MIN | keep K)
    %vigilo quota 23h       tell Vigilo how much Kaggle GPU (TPU on a TPU session) quota is left this week
    %vigilo profile sessionLifetime=24h idleCutoff=90m
                            override the platform profile (paid tiers differ); tier=pro (free, pro,
                            pro+, paid, payg) states the Colab plan when a paid GPU did not show it
    %vigilo notify add URL  send warnings to a phone, chat or e-mail (Apprise URL; also:
                            test | list | remove ID | on|off RULE | cell MIN | quiet 22:00-07:00)
    %vigilo export URL      send LLM spans and runtime metrics over OpenTelemetry (OTLP/HTTP;
                            also: off | env | --header K=V | --content on|off); docs/TEAMS.md
    %vigilo pricing update  fetch LiteLLM's current LLM prices and say what changed
                            (also: --from FILE_OR_URL); a failure keeps the previous prices

Everything shown is rendered by the sidecar (GET /report); this module only
sends raw facts and displays what comes back.
"""
from __future__ import annotations

import html
import shlex
from typing import Any, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from . import _magic_sidecar, _notify_cells, _notify_magic, _sidecar
from . import _export_magic
from ._kernel import Heartbeat


class Report:
    """A report rendered by the sidecar, shown as HTML in notebooks and text in terminals."""

    def __init__(self, text: str, html: Optional[str] = None) -> None:
        self.text = text
        self.html = html

    def _repr_html_(self) -> Optional[str]:
        return self.html

    def __repr__(self) -> str:
        return self.text


@magics_class
class VigiloMagics(Magics):
    def __init__(self, shell, data_dir=None):
        super().__init__(shell)
        self.data_dir = data_dir
        self.heartbeat: Optional[Heartbeat] = None
        #: The latest report output; the heartbeat thread refreshes it in place.
        self.live_output = None
        #: The sidecar's "untracked calls" note for this kernel (heartbeat answer), shown with the report.
        self.llm_untracked: Optional[dict] = None
        #: ``%vigilo status``: the report also says which Node and storage engine run the sidecar.
        self.runtime_line = False

    # -- commands ---------------------------------------------------------
    @line_magic
    def vigilo(self, line: str = ""):
        """Start or attach to the Vigilo sidecar; see ``%vigilo help``."""
        try:
            args = shlex.split(line)
        except ValueError as err:
            raise UsageError(f"%vigilo: {err}") from err
        command, rest = (args[0], args[1:]) if args else ("start", [])
        handler = {
            "start": self._start,
            "status": self._status,
            "stop": self._stop,
            "quota": self._quota,
            "profile": self._profile,
            "checkpoint": self._checkpoint,
            "pricing": self._pricing,
            "export": lambda rest: Report(_export_magic.command(rest, self.data_dir)),
            "notify": lambda rest: Report(_notify_magic.command(rest, self.data_dir)),
            "help": self._help,
        }.get(command)
        if handler is None:
            raise UsageError(f"%vigilo: unknown command {command!r}. Try: %vigilo help")
        return handler(rest)

    def _help(self, _rest):
        return Report(__doc__.split("\n\n")[1])

    def _start(self, rest):
        if rest:
            raise UsageError("%vigilo takes no arguments when starting; see %vigilo help")
        try:
            discovery = _sidecar.ensure_running(self.data_dir)
        except (_sidecar.NodeNotFoundError, _sidecar.SidecarStartError) as err:
            raise UsageError(str(err)) from err
        self.runtime_line = False
        if self.heartbeat is not None:
            self.heartbeat.started()  # a fresh report: an earlier restart (or giving up) was said already
        self._ensure_heartbeat()
        self._show_live(discovery)

    def _status(self, rest):
        self.runtime_line = True
        discovery = self._running()
        if self.heartbeat and not self.heartbeat.running:
            self.heartbeat.start()
        self._show_live(discovery)

    def _stop(self, _rest):
        self.unload()
        stopped = _sidecar.stop(self.data_dir)
        return Report("Vigilo sidecar stopped." if stopped else "No Vigilo sidecar was running.")

    def _checkpoint(self, rest):
        from .checkpoint import _core

        try:
            return Report(_core.command(rest, self.data_dir))
        except (_core.CheckpointError, ValueError) as err:
            raise UsageError(f"%vigilo checkpoint: {err}") from err

    def _quota(self, rest):
        if len(rest) != 1:
            raise UsageError("usage: %vigilo quota 23h   (what Kaggle shows as GPU quota left this week)")
        return self._post("/quota", {"remaining": rest[0]})

    def _profile(self, rest):
        overrides = {}
        for item in rest:
            key, sep, value = item.partition("=")
            if not sep or not key or not value:
                raise UsageError(f"%vigilo profile: expected key=value, got {item!r}")
            overrides[key] = value
        if not overrides:
            raise UsageError("usage: %vigilo profile sessionLifetime=24h idleCutoff=90m   (or tier=pro for the Colab plan)")
        return self._post("/profile", {"overrides": overrides})

    def _pricing(self, rest):
        if not rest or rest[0] != "update" or len(rest) not in (1, 3) or (len(rest) == 3 and rest[1] != "--from"):
            raise UsageError("usage: %vigilo pricing update   [--from FILE_OR_URL]")
        body = {"from": rest[2]} if len(rest) == 3 else {}
        # The sidecar fetches (up to 15 s) and validates; this only relays its answer.
        _, answer = self._call("/llm/pricing/update", body, "%vigilo pricing update", timeout=30.0)
        return Report(answer.get("summary", "Prices updated."))

    # -- helpers ------------------------------------------------------------
    def _running(self) -> dict:
        return _magic_sidecar.running(self.data_dir)

    def _call(self, path: str, body: dict, what: str = "%vigilo", timeout: float = 5.0) -> "tuple[dict, Any]":
        """POST to the running sidecar: (discovery, answer), or UsageError with the sidecar's message."""
        return _magic_sidecar.call(self.data_dir, "POST", path, body, what=what, timeout=timeout)

    def _post(self, path: str, body: dict):
        discovery, _ = self._call(path, body)
        return self._report(discovery)

    def _ensure_heartbeat(self) -> None:
        if self.heartbeat is None:
            shell = self.shell
            self.heartbeat = Heartbeat(self.data_dir, execution_count=lambda: getattr(shell, "execution_count", 0))
            self.heartbeat.after_beat = self._refresh_live
            self.heartbeat.on_notice = self._show_notice
            self.heartbeat.answer_listeners.append(self._note_answer)
            shell.events.register("pre_run_cell", self.heartbeat.activity)
            _notify_cells.register(shell, self.data_dir, self.heartbeat.kernel_id)
        self.heartbeat.beat()
        self.heartbeat.start()

    def _show_live(self, discovery: dict) -> None:
        """Display the report in this cell's output and keep it current (Colab and
        Kaggle have no sidebar: this output is their dashboard)."""
        self.live_output = display(self._report(discovery), display_id=True)

    def _refresh_live(self) -> None:
        handle = self.live_output
        discovery = _sidecar.read_discovery(self.data_dir)
        if handle is not None and discovery:
            handle.update(self._report(discovery))

    def _show_notice(self, _message: str) -> None:
        """A restart (or restarts given up) while no sidecar may answer: the live output says
        it at once, on the last report when there is no new one to fetch."""
        handle = self.live_output
        if handle is None:
            return
        discovery = _sidecar.read_discovery(self.data_dir)
        if _sidecar.probe(discovery):
            handle.update(self._report(discovery))  # type: ignore[arg-type]
        else:
            handle.update(_with_notes(Report("Vigilo: no sidecar answers."), [self.heartbeat.notice if self.heartbeat else None]))

    def _note_answer(self, answer: dict) -> None:
        note = answer.get("llmUntracked")
        self.llm_untracked = note if isinstance(note, dict) else None

    def _report(self, discovery: dict) -> Report:
        status, body = _sidecar.request(discovery, "GET", "/report")
        if status != 200 or not isinstance(body, dict):
            return Report(f"Vigilo sidecar at {discovery['url']} (pid {discovery['pid']}) answered HTTP {status}.")
        report = Report(body.get("text", ""), body.get("html"))
        note = self.llm_untracked
        if note and isinstance(note.get("message"), str) and isinstance(note.get("fix"), str):
            # Said once, in the one live output, while it holds: the sidecar's words and the line that fixes it.
            report.text += f"\n\n⚠ {note['message']}\n  Fix: {note['fix']}"
            if report.html is not None:
                report.html += (
                    f'<div class="vigilo-untracked">⚠ {html.escape(note["message"])}<br>'
                    f"Fix: <code>{html.escape(note['fix'])}</code></div>"
                )
        runtime = self._runtime_line(discovery) if self.runtime_line else None
        return _with_notes(report, [self.heartbeat.notice if self.heartbeat else None, runtime])

    def _runtime_line(self, discovery: dict) -> Optional[str]:
        """Which Node and storage engine run the sidecar, and its restarts: the sidecar's own line (GET /status)."""
        try:
            status, body = _sidecar.request(discovery, "GET", "/status", timeout=2.0)
        except OSError:
            return None
        life = body.get("lifecycle") if status == 200 and isinstance(body, dict) else None
        summary = life.get("summary") if isinstance(life, dict) else None
        return summary if isinstance(summary, str) else None

    def unload(self) -> None:
        """Stop this kernel's heartbeat and its activity hook, and stop refreshing the report."""
        self.live_output = None
        if self.heartbeat:
            self.heartbeat.stop()
            try:
                self.shell.events.unregister("pre_run_cell", self.heartbeat.activity)
            except ValueError:
                pass
            self.heartbeat = None


def _with_notes(report: Report, notes: "list[Optional[str]]") -> Report:
    """The report with one line per note (lifecycle notices, the Node and engine running)."""
    for note in notes:
        if note:
            report.text += f"\n{note}"
            if report.html is not None:
                report.html += f'<div class="vigilo-lifecycle">{html.escape(note)}</div>'
    return report
