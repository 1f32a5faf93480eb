"""A fake sidecar that records POST /llm/events bodies and answers as the real one does."""
from __future__ import annotations

from typing import Any, Optional

from .server import LoopbackServer, Reply, Request

TOKEN = "fake-sidecar-token-0123456789"


class FakeSidecar:
    def __init__(self) -> None:
        self.budget: "dict[str, Any]" = {"hardStop": False, "reason": None}
        self.status: Optional[int] = None  # force an answer status (e.g. 400, 503)
        self.server = LoopbackServer(self.route, expected_token=TOKEN)

    @property
    def url(self) -> str:
        return self.server.url

    def route(self, request: Request) -> Reply:
        if not request.authorization_ok:
            return Reply(401, {"error": "unauthorized", "message": "missing or wrong token"})
        if request.method != "POST" or request.path != "/llm/events":
            return Reply(404, {"error": "not_found"})
        if self.status is not None:
            return Reply(self.status, {"error": "forced", "message": f"forced {self.status}"})
        events = (request.body or {}).get("events", [])
        return Reply(200, {"accepted": len(events), "duplicates": 0, "budget": dict(self.budget)})

    def batches(self) -> "list[list[dict]]":
        return [r.body["events"] for r in self.server.requests if r.path == "/llm/events" and r.authorization_ok]

    def events(self) -> "list[dict]":
        return [e for batch in self.batches() for e in batch]
