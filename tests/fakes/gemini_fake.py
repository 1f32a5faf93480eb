"""Gemini's /v1beta/models/{model}:generateContent and :streamGenerateContent?alt=sse, as the API sends them."""
from __future__ import annotations

import copy
import json
import re
from typing import Any

from .server import FakeProvider, Reply, Request, sse

ERRORS = {
    429: {"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}},
    500: {
        "error": {
            "code": 500,
            "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
            "status": "INTERNAL",
        }
    },
}
_PATH = re.compile(r"^/(?:v1beta|v1)/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$")


class FakeGemini(FakeProvider):
    def __init__(self) -> None:
        self.model_version = "gemini-2.5-flash"
        self.pieces = ["Hallo", " vom", " Fake."]
        self.usage: "dict[str, Any]" = {
            "promptTokenCount": 2100,
            "candidatesTokenCount": 3,
            "totalTokenCount": 2143,
            "cachedContentTokenCount": 2048,
            "thoughtsTokenCount": 40,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2100}],
            "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 2048}],
        }
        super().__init__()

    def failure(self, status: int) -> Reply:
        return Reply(status, ERRORS[status])

    def answer(self, request: Request) -> Reply:
        match = _PATH.match(request.path)
        if not match:
            return Reply(404, {"error": {"code": 404, "message": f"Not found: {request.path}", "status": "NOT_FOUND"}})
        if match["method"] == "generateContent":
            return Reply(200, self._response(self.pieces, "STOP", self.usage))
        rest_json = request.query.get("$alt") == ["json;enum-encoding=int"]
        if request.query.get("alt") != ["sse"] and not rest_json:
            return Reply(400, {"error": {"code": 400, "message": "alt=sse or $alt=json expected by this fake", "status": "INVALID_ARGUMENT"}})
        chunks = self.stream_chunks()
        if rest_json:
            # The REST transport of the google-generativeai / GAPIC clients ($alt=json;enum-encoding=int):
            # one JSON array, its elements written as they are produced, enums as numbers.
            return Reply(200, sse=_json_array([_int_enums(c) for c in chunks]), headers={"Content-Type": "application/json"})
        return Reply(200, sse=[sse(c, sep="\r\n") for c in chunks])

    def stream_chunks(self) -> "list[dict]":
        """The streamed answer, one chunk per piece, each with the running usage."""
        chunks = []
        for i, piece in enumerate(self.pieces):
            last = i == len(self.pieces) - 1
            usage = copy.deepcopy(self.usage)
            if not last:  # running totals: the prompt is known from the first chunk, the output grows
                usage["candidatesTokenCount"] = i + 1
                usage["totalTokenCount"] = usage["promptTokenCount"] + i + 1
                usage.pop("thoughtsTokenCount", None)
            chunks.append(self._response([piece], "STOP" if last else None, usage))
        return chunks

    def rest_usage(self) -> "dict[str, Any]":
        """usageMetadata as the google-generativeai SDK (v1beta protos of 2025) parses it: fields it knows only."""
        known = ("promptTokenCount", "cachedContentTokenCount", "candidatesTokenCount", "totalTokenCount")
        return {k: v for k, v in self.usage.items() if k in known}

    def _response(self, pieces: "list[str]", finish: Any, usage: dict) -> dict:
        candidate: "dict[str, Any]" = {"content": {"parts": [{"text": p} for p in pieces], "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return {
            "candidates": [candidate],
            "usageMetadata": copy.deepcopy(usage),
            "modelVersion": self.model_version,
            "responseId": "fake-response-1",
        }


_ENUMS = {"finishReason": {"STOP": 1, "MAX_TOKENS": 2}, "modality": {"TEXT": 1}}


def _int_enums(value: Any) -> Any:
    """enum-encoding=int: enum values as their numbers, as the API answers the REST transport."""
    if isinstance(value, dict):
        return {k: _ENUMS[k].get(v, v) if k in _ENUMS and isinstance(v, str) else _int_enums(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_int_enums(v) for v in value]
    return value


def _json_array(items: "list[dict]") -> "list[str]":
    return ["[" + json.dumps(items[0])] + ["," + "\r\n" + json.dumps(item) for item in items[1:]] + ["]"]
