"""Gemini's content rules, shared by both Google SDK modules (core normaliser; imports no SDK module).

Same rules as src/client/text.ts ``googleRequest``: a list of str/Parts is one user turn; a list holding Contents
gives one message per item; role "model" is reported as "assistant".
"""
from __future__ import annotations

from typing import Any, Optional

from ._record import get, text_of


def _is_content(value: Any) -> bool:
    if isinstance(value, dict):
        return "parts" in value or "role" in value
    return not isinstance(value, str) and hasattr(value, "parts") and hasattr(value, "role")


def _content_message(content: Any) -> dict:
    role = get(content, "role")
    role = role if isinstance(role, str) and role else "user"
    return {"role": "assistant" if role == "model" else role, "content": text_of(get(content, "parts"))}


def messages(snapshot: dict) -> "list[dict]":
    """The request's messages from its ``{"contents", "system"}`` snapshot."""
    out = []
    system = text_of(snapshot.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    contents = snapshot.get("contents")
    if isinstance(contents, (list, tuple)):
        if any(_is_content(c) for c in contents):
            for item in contents:
                out.append(_content_message(item) if _is_content(item) else {"role": "user", "content": text_of(item)})
        else:
            out.append({"role": "user", "content": text_of(contents)})
    elif _is_content(contents):
        out.append(_content_message(contents))
    elif contents is not None:
        out.append({"role": "user", "content": text_of(contents)})
    return out


def candidate_parts(response: Any) -> Optional[list]:
    """The first candidate's parts ([] when it has none), or None when there is no candidate."""
    candidates = get(response, "candidates") or []
    if not candidates:
        return None
    return get(get(candidates[0], "content"), "parts") or []


def grounding_queries(response: Any) -> Optional[int]:
    """Google Search grounding, as a raw fact: how many search queries the response says the model ran
    (``grounding_metadata.web_search_queries`` over all candidates), or None when no candidate carries grounding
    metadata (streams send an empty one on every chunk before the one that carries it). The sidecar prices it;
    src/client/google.ts ``groundingQueries`` reads the same field."""
    found = False
    queries = 0
    for candidate in get(response, "candidates") or []:
        meta = get(candidate, "grounding_metadata")
        if meta is None and isinstance(candidate, dict):
            meta = candidate.get("groundingMetadata")
        if not meta:
            continue
        asked = get(meta, "web_search_queries")
        if asked is None and isinstance(meta, dict):
            asked = meta.get("webSearchQueries")
        chunks = get(meta, "grounding_chunks") or (meta.get("groundingChunks") if isinstance(meta, dict) else None)
        if asked or chunks or get(meta, "search_entry_point") or (isinstance(meta, dict) and meta.get("searchEntryPoint")):
            found = True
            queries += len(asked or [])
    return queries if found else None

