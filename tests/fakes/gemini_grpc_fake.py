"""Gemini's GenerativeService over gRPC on 127.0.0.1, as google-generativeai's async client reaches it.

The legacy SDK's async calls (``generate_content_async``) only have a gRPC
transport (its REST transport is sync only). This server answers
``google.ai.generativelanguage.v1beta.GenerativeService/GenerateContent`` and
``/StreamGenerateContent`` with the same responses as the REST fake
(``FakeGemini``), as protobuf; a queued failure is the gRPC status the API
uses for it (429 → RESOURCE_EXHAUSTED, 500 → INTERNAL).
"""
from __future__ import annotations

import json
from concurrent import futures
from typing import Any

import grpc
from google.ai.generativelanguage_v1beta.types import generative_service as gs

from .gemini_fake import ERRORS, FakeGemini

SERVICE = "google.ai.generativelanguage.v1beta.GenerativeService"
_STATUS = {429: grpc.StatusCode.RESOURCE_EXHAUSTED, 500: grpc.StatusCode.INTERNAL}


class FakeGeminiGrpc:
    def __init__(self, rest: FakeGemini) -> None:
        self.rest = rest  # the same script (pieces, usage, model version) and failure queue
        self.requests: "list[Any]" = []
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        handlers = {
            "GenerateContent": grpc.unary_unary_rpc_method_handler(
                self._generate, request_deserializer=gs.GenerateContentRequest.deserialize, response_serializer=gs.GenerateContentResponse.serialize
            ),
            "StreamGenerateContent": grpc.unary_stream_rpc_method_handler(
                self._stream, request_deserializer=gs.GenerateContentRequest.deserialize, response_serializer=gs.GenerateContentResponse.serialize
            ),
        }
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"

    def _fail(self, context: Any) -> None:
        if self.rest.failures:
            status = self.rest.failures.pop(0)
            context.abort(_STATUS[status], ERRORS[status]["error"]["message"])

    def _generate(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        self._fail(context)
        return _proto(self.rest._response(self.rest.pieces, "STOP", self.rest.usage))

    def _stream(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        self._fail(context)
        for chunk in self.rest.stream_chunks():
            yield _proto(chunk)

    def start(self) -> "FakeGeminiGrpc":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)


def _proto(body: dict) -> Any:
    # Fields this SDK's protos do not know (thoughtsTokenCount) are dropped, as the real client does.
    return gs.GenerateContentResponse.from_json(json.dumps(body), ignore_unknown_fields=True)
