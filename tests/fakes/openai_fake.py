"""OpenAI's /v1/chat/completions and /v1/responses, JSON and SSE, as the API sends them."""
from __future__ import annotations

import copy
from typing import Any, Optional

from .server import FakeProvider, Reply, Request, sse

ERRORS = {
    429: {
        "error": {
            "message": "Rate limit reached for gpt-4o-mini in organization org-fake on tokens per min (TPM): Limit 200000, Used 199500, Requested 1200.",
            "type": "tokens",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    },
    500: {
        "error": {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    },
}


class FakeOpenAI(FakeProvider):
    base_path = "/v1"

    def __init__(self) -> None:
        self.model = "gpt-4o-mini-2024-07-18"
        self.pieces = ["Hello", " from", " the", " fake."]
        self.chat_usage: "dict[str, Any]" = {
            "prompt_tokens": 1200,
            "completion_tokens": 4,
            "total_tokens": 1204,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        self.responses_usage: "dict[str, Any]" = {
            "input_tokens": 2000,
            "input_tokens_details": {"cached_tokens": 1536},
            "output_tokens": 40,
            "output_tokens_details": {"reasoning_tokens": 36},
            "total_tokens": 2040,
        }
        super().__init__()

    def failure(self, status: int) -> Reply:
        return Reply(status, ERRORS[status], headers={"x-request-id": "req_fake"})

    def answer(self, request: Request) -> Reply:
        body = request.body or {}
        if request.path == "/v1/chat/completions":
            return self._chat_stream(body) if body.get("stream") else Reply(200, self._chat(body))
        if request.path == "/v1/responses":
            return self._responses_stream(body) if body.get("stream") else Reply(200, self._response("completed"))
        return Reply(404, {"error": {"message": f"Unknown path {request.path}", "type": "invalid_request_error", "param": None, "code": None}})

    # ------------------------------------------------------------- chat.completions
    def _chat(self, body: dict) -> dict:
        return {
            "id": "chatcmpl-fake1",
            "object": "chat.completion",
            "created": 1730000000,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(self.pieces), "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": copy.deepcopy(self.chat_usage),
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }

    def _chunk(self, choices: list, with_usage: bool, usage: Optional[dict] = None) -> dict:
        chunk = {
            "id": "chatcmpl-fake1",
            "object": "chat.completion.chunk",
            "created": 1730000000,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
            "choices": choices,
        }
        if with_usage:  # with include_usage every chunk has "usage": null, the last one the figures
            chunk["usage"] = usage
        return chunk

    def _chat_stream(self, body: dict) -> Reply:
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        frames = [
            sse(self._chunk([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None}, "logprobs": None, "finish_reason": None}], with_usage))
        ]
        for piece in self.pieces:
            frames.append(sse(self._chunk([{"index": 0, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}], with_usage)))
        frames.append(sse(self._chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}], with_usage)))
        if with_usage:
            frames.append(sse(self._chunk([], True, copy.deepcopy(self.chat_usage))))
        frames.append("data: [DONE]\n\n")
        return Reply(200, sse=frames)

    # -------------------------------------------------------------------- responses
    def _response(self, status: str) -> dict:
        done = status == "completed"
        return {
            "id": "resp_fake1",
            "object": "response",
            "created_at": 1730000000,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "model": "gpt-4.1-2025-04-14",
            "output": [
                {
                    "type": "message",
                    "id": "msg_fake1",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "".join(self.pieces), "annotations": [], "logprobs": []}],
                }
            ]
            if done
            else [],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "store": True,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": copy.deepcopy(self.responses_usage) if done else None,
            "user": None,
            "metadata": {},
        }

    def _responses_stream(self, body: dict) -> Reply:
        seq = iter(range(1000))
        item = {"type": "message", "id": "msg_fake1", "status": "in_progress", "role": "assistant", "content": []}
        frames = [
            sse({"type": "response.created", "sequence_number": next(seq), "response": self._response("in_progress")}, "response.created"),
            sse({"type": "response.in_progress", "sequence_number": next(seq), "response": self._response("in_progress")}, "response.in_progress"),
            sse({"type": "response.output_item.added", "sequence_number": next(seq), "output_index": 0, "item": item}, "response.output_item.added"),
            sse(
                {
                    "type": "response.content_part.added",
                    "sequence_number": next(seq),
                    "item_id": "msg_fake1",
                    "output_index": 0,
                    "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
                },
                "response.content_part.added",
            ),
        ]
        for piece in self.pieces:
            frames.append(
                sse(
                    {
                        "type": "response.output_text.delta",
                        "sequence_number": next(seq),
                        "item_id": "msg_fake1",
                        "output_index": 0,
                        "content_index": 0,
                        "delta": piece,
                        "logprobs": [],
                    },
                    "response.output_text.delta",
                )
            )
        text = "".join(self.pieces)
        frames.append(
            sse(
                {
                    "type": "response.output_text.done",
                    "sequence_number": next(seq),
                    "item_id": "msg_fake1",
                    "output_index": 0,
                    "content_index": 0,
                    "text": text,
                    "logprobs": [],
                },
                "response.output_text.done",
            )
        )
        frames.append(sse({"type": "response.completed", "sequence_number": next(seq), "response": self._response("completed")}, "response.completed"))
        return Reply(200, sse=frames)
