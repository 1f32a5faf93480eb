"""``%vigilo notify …``: where Vigilo's warnings go when nobody looks at the notebook.

    %vigilo notify                     channels (secrets hidden), rules, the last failures
    %vigilo notify add URL [LABEL]     an Apprise URL: ntfy://ntfy.sh/TOPIC, mailtos://user:app-pw@gmail.com,
                                       tgram://BOT_TOKEN/CHAT_ID, discord://ID/TOKEN, slack://T/B/C …
                                       keep the URL out of the cell: url = userdata.get('NOTIFY');  %vigilo notify add $url
    %vigilo notify test                send a test message to every channel and say what happened
    %vigilo notify remove ID           forget a channel
    %vigilo notify on|off RULE         runtime idle oom disk checkpoint training cell spend kernel
    %vigilo notify cell MIN            also say when a cell that ran over MIN minutes ends
    %vigilo notify quiet 22:00-07:00 [Europe/Berlin] | quiet off

The sidecar decides and delivers (docs/NOTIFY.md); this only relays.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from typing import Any, List

from IPython.core.error import UsageError

from . import _magic_sidecar

INSTALL = "%pip install 'vigilo[notify]'"


def _call(data_dir, method: str, path: str, body: Any = None, timeout: float = 5.0) -> dict:
    return _magic_sidecar.call(data_dir, method, path, body, what="%vigilo notify", timeout=timeout)[1]


def describe(state: dict) -> str:
    """The sidecar's own summary, plus what only this kernel can tell: whether Apprise is installed here."""
    text = str(state.get("summary", ""))
    if importlib.util.find_spec("apprise") is None:
        text += f"\nNote: Apprise is not installed for {sys.executable}; the delivery worker needs it: {INSTALL}"
    return text


def command(rest: List[str], data_dir=None) -> str:
    sub, args = (rest[0], rest[1:]) if rest else ("list", [])
    if sub == "list" and not args:
        return describe(_call(data_dir, "GET", "/notify"))
    if sub == "add" and 1 <= len(args) <= 2:
        # Never echo the URL: it holds the secret.
        body = {"url": args[0], "python": sys.executable}
        if len(args) == 2:
            body["label"] = args[1]
        state = _call(data_dir, "POST", "/notify/channels", body)
        return "Channel added.\n" + describe(state) + "\nTry it: %vigilo notify test"
    if sub == "remove" and len(args) == 1:
        return "Channel removed.\n" + describe(_call(data_dir, "DELETE", f"/notify/channels/{args[0]}"))
    if sub == "test" and len(args) <= 1:
        body: dict = {"waitS": 25}
        if args:
            body["channelId"] = args[0]
        answer = _call(data_dir, "POST", "/notify/test", body, timeout=35.0)
        out = []
        for d in answer.get("deliveries", []):
            if d["status"] == "sent":
                out.append(f"✓ {d['channelId']}: delivered in {d.get('latencyMs') or 0:.0f} ms")
            elif d["status"] == "pending":
                out.append(f"… {d['channelId']}: still trying ({d['attempts']} attempts so far; %vigilo notify shows the outcome)")
            else:
                out.append(f"✗ {d['channelId']}: {d.get('error')}")
        return "\n".join(out)
    if sub in ("on", "off") and len(args) == 1:
        _call(data_dir, "POST", "/settings/notify", {"rules": {args[0]: sub == "on"}})
        return describe(_call(data_dir, "GET", "/notify"))
    if sub == "cell" and len(args) == 1:
        try:
            minutes = float(args[0])
        except ValueError:
            raise UsageError("usage: %vigilo notify cell 30   (minutes)") from None
        _call(data_dir, "POST", "/settings/notify", {"longCellMin": minutes, "rules": {"cell": True}})
        return describe(_call(data_dir, "GET", "/notify"))
    if sub == "quiet" and args == ["off"]:
        _call(data_dir, "POST", "/settings/notify", {"quietHours": None})
        return describe(_call(data_dir, "GET", "/notify"))
    if sub == "quiet" and 1 <= len(args) <= 2:
        m = re.fullmatch(r"(\d{1,2}:\d{2})-(\d{1,2}:\d{2})", args[0])
        if not m:
            raise UsageError("usage: %vigilo notify quiet 22:00-07:00 [Europe/Berlin]   (or: quiet off)")
        zone = args[1] if len(args) == 2 else "UTC"
        _call(data_dir, "POST", "/settings/notify", {"quietHours": {"start": m.group(1), "end": m.group(2), "timeZone": zone, "allowCritical": True}})
        return describe(_call(data_dir, "GET", "/notify"))
    raise UsageError(__doc__.split("\n\n")[1])
