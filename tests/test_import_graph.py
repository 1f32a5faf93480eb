"""The vigilo package's import graph: no circle anywhere, and the LLM instrumentation in layers.

The graph is grimp's (every import statement, at module level or inside a function), plus one edge Python adds
by itself: importing ``a.b.c`` from outside ``a.b`` runs ``a/b/__init__.py`` first, so the importer depends on
that package too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
LLM = "vigilo.llm"
CORE = {f"{LLM}.{m}" for m in ("_context", "_record", "_census", "_delivery", "_transport", "_spool", "_wrapping", "_sessions", "_gemini")}
SDKS = {f"{LLM}.{m}" for m in ("_openai", "_anthropic", "_google", "_google_legacy", "_litellm")}


def import_graph(package: str = "vigilo") -> "dict[str, set[str]]":
    graph = grimp.build_graph(package, include_external_packages=False)
    edges: "dict[str, set[str]]" = {m: set() for m in graph.modules}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            edges[importer].add(imported)
            parts = imported.split(".")
            for i in range(1, len(parts)):
                ancestor = ".".join(parts[:i])
                if ancestor in edges and not (importer == ancestor or importer.startswith(ancestor + ".")):
                    edges[importer].add(ancestor)
    return edges


def circles(edges: "dict[str, set[str]]") -> "list[list[str]]":
    """The strongly connected components of more than one module (or a module importing itself), Tarjan's way
    without recursion."""
    index: "dict[str, int]" = {}
    low: "dict[str, int]" = {}
    stack: "list[str]" = []
    on_stack: "set[str]" = set()
    found: "list[list[str]]" = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges[node]:
                    found.append(sorted(component))
    return found


def test_the_circle_finder_finds_a_circle_and_a_self_import():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"a"}, "b": set()}) == [["a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_vigilo_package_draws_no_import_circle():
    edges = import_graph()
    assert LLM in edges and f"{LLM}._openai" in edges, sorted(edges)  # the graph really is the package's
    assert circles(edges) == []


def test_the_llm_core_imports_no_sdk_module_and_each_sdk_module_only_the_core():
    edges = import_graph()
    assert CORE | SDKS <= set(edges), sorted((CORE | SDKS) - set(edges))
    for module in CORE:
        inside = {m for m in edges[module] if m.startswith(LLM)}
        assert inside <= CORE, f"{module} imports {sorted(inside - CORE)} above the core"
    for module in SDKS:
        inside = {m for m in edges[module] if m.startswith(LLM)}
        assert inside <= CORE, f"{module} imports {sorted(inside - CORE)}: an SDK module imports only the core"
        outside = {m for m in edges[module] if not m.startswith(LLM)}
        assert outside <= {"vigilo", "vigilo._llm_sdks"}, f"{module} imports {sorted(outside)}"
    # The rest of the package uses vigilo.llm's public names only; the heartbeat also asks the registry for its facts.
    for module, targets in edges.items():
        if not module.startswith(LLM):
            inner = {t for t in targets if t.startswith(LLM + ".")}
            assert inner <= ({f"{LLM}._registry"} if module == "vigilo._kernel" else set()), f"{module} imports {sorted(inner)}"


@pytest.mark.parametrize("path", sorted((ROOT / "vigilo" / "llm").glob("*.py")), ids=lambda p: p.name)
def test_no_vigilo_module_is_imported_inside_a_function_of_vigilo_llm(path):
    """A function-level import of our own modules is how a cycle hides; the SDKs (the user's) may be imported late."""
    late = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.level > 0 or (inner.module or "").startswith("vigilo")):
                    late.append(f"line {inner.lineno}: from {'.' * inner.level}{inner.module or ''} import ...")
                elif isinstance(inner, ast.Import) and any(a.name.startswith("vigilo") for a in inner.names):
                    late.append(f"line {inner.lineno}: import {', '.join(a.name for a in inner.names)}")
    assert late == []
