"""The shipped stub wrl/_core.pyi matches the built extension (names and parameter lists)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from wrl import _core

STUB = Path(__file__).resolve().parents[1] / "wrl" / "_core.pyi"


def _stub_definitions() -> tuple[dict[str, list[str]], set[str]]:
    tree = ast.parse(STUB.read_text())
    functions, classes = {}, set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            args = node.args
            functions[node.name] = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        elif isinstance(node, ast.ClassDef):
            classes.add(node.name)
    return functions, classes


def test_every_runtime_function_and_exception_is_stubbed():
    functions, classes = _stub_definitions()
    runtime_functions = {n for n, v in vars(_core).items() if callable(v) and not isinstance(v, type)}
    runtime_classes = {n for n, v in vars(_core).items() if isinstance(v, type) and not n.startswith("_")}
    assert runtime_functions == set(functions)
    assert runtime_classes == classes


def test_stub_signatures_match_runtime():
    functions, _ = _stub_definitions()
    for name, params in functions.items():
        runtime = list(inspect.signature(getattr(_core, name)).parameters)
        assert runtime == params, name
