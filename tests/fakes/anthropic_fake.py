"""Anthropic's /v1/messages, JSON and the SSE event sequence, as the API sends them."""
from __future__ import annotations

import copy
from typing import Any

from .server import FakeProvider, Reply, Request, sse

ERRORS = {
    429: {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "This request would exceed the rate limit for your organization of 50,000 input tokens per minute."},
        "request_id": "req_fake429",
    },
    500: {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}, "request_id": "req_fake500"},
    529: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_fake529"},
}


class FakeAnthropic(FakeProvider):
    def __init__(self) -> None:
        self.model = "claude-sonnet-4-6-20260201"
        self.pieces = ["Bonjour", " depuis", " le", " faux."]
        self.usage: "dict[str, Any]" = {
            "input_tokens": 21,
            "cache_creation_input_tokens": 1500,
            "cache_read_input_tokens": 3000,
            "cache_creation": {"ephemeral_5m_input_tokens": 1500, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 4,
            "service_tier": "standard",
        }
        super().__init__()

    def failure(self, status: int) -> Reply:
        return Reply(status, ERRORS[status], headers={"request-id": ERRORS[status]["request_id"]})

    def answer(self, request: Request) -> Reply:
        if request.path != "/v1/messages":
            return Reply(404, {"type": "error", "error": {"type": "not_found_error", "message": "Not found"}})
        body = request.body or {}
        return self._stream() if body.get("stream") else Reply(200, self._message())

    def _message(self) -> dict:
        return {
            "id": "msg_fake1",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [{"type": "text", "text": "".join(self.pieces)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": copy.deepcopy(self.usage),
        }

    def _stream(self) -> Reply:
        start_usage = copy.deepcopy(self.usage)
        start_usage["output_tokens"] = 1  # message_start reports a placeholder; message_delta the final count
        frames = [
            sse(
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_fake1",
                        "type": "message",
                        "role": "assistant",
                        "model": self.model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": start_usage,
                    },
                },
                "message_start",
            ),
            sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, "content_block_start"),
            sse({"type": "ping"}, "ping"),
        ]
        for piece in self.pieces:
            frames.append(sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}, "content_block_delta"))
        frames += [
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": self.usage["output_tokens"]},
                },
                "message_delta",
            ),
            sse({"type": "message_stop"}, "message_stop"),
        ]
        return Reply(200, sse=frames)
