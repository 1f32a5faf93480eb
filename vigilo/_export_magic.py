"""``%vigilo export``: where the sidecar sends OpenTelemetry (see docs/TEAMS.md).

    %vigilo export                      what is exported, where, and the span queue
    %vigilo export URL [--header K=V]... [--protocol http/json] [--content on|off]
                                        send LLM spans and runtime metrics to an OTLP/HTTP
                                        endpoint (a collector, Phoenix ...) from now on
    %vigilo export off                  stop exporting
    %vigilo export env                  back to the OTEL_* environment variables

Headers (API keys) stay in the sidecar's memory and are never written to disk.
The sidecar decides and answers in words (``PUT /export``); this only relays.
"""
from __future__ import annotations

import os
from typing import Any, Optional

from IPython.core.error import UsageError

from . import _magic_sidecar

USAGE = "usage: %vigilo export [URL [--header K=V]... [--protocol http/protobuf|http/json] [--content on|off] | off | env]"


def _parse(rest: "list[str]") -> "Optional[dict[str, Any]]":
    """The PUT /export body for ``rest``, or None for 'show the status'."""
    if not rest:
        return None
    first, options = rest[0], rest[1:]
    if first == "off":
        body: "dict[str, Any]" = {"endpoint": ""}
    elif first == "env":
        body = {"endpoint": None, "protocol": None, "captureContent": None, "headers": {}}
    elif first.startswith(("http://", "https://")):
        body = {"endpoint": first}
    else:
        raise UsageError(f"%vigilo export: {first!r} is not an http(s) URL, 'off' or 'env'. {USAGE}")
    headers: "dict[str, str]" = {}
    i = 0
    while i < len(options):
        flag = options[i]
        if flag not in ("--header", "--protocol", "--content") or i + 1 >= len(options):
            raise UsageError(f"%vigilo export: unexpected {flag!r}. {USAGE}")
        value = options[i + 1]
        if flag == "--header":
            key, sep, val = value.partition("=")
            if not sep or not key:
                raise UsageError(f"%vigilo export: --header wants K=V, got {value!r}")
            headers[key.strip()] = val.strip()
        elif flag == "--protocol":
            body["protocol"] = value
        else:
            if value not in ("on", "off"):
                raise UsageError("%vigilo export: --content on|off")
            body["captureContent"] = value == "on"
        i += 2
    if headers:
        body["headers"] = headers
    return body


def command(rest: "list[str]", data_dir: "str | os.PathLike[str] | None") -> str:
    """Run ``%vigilo export ...`` against the running sidecar; the sidecar's summary comes back."""
    body = _parse(rest)
    _, answer = _magic_sidecar.call(data_dir, "GET" if body is None else "PUT", "/export", body, what="%vigilo export")
    return str(answer.get("summary", "")) if isinstance(answer, dict) else str(answer)
