"""The README's Python examples stay true to the code.

They call models and indexes the reader brings (``llm``, ``index``), so they are not run;
instead every block must parse, every name it imports must exist, and every use of this
project's names must resolve: a call to one of its classes or functions, or to a method of an
object one of them returned, names a method that exists and passes keywords it accepts, and an
attribute read on such an object names a method, property or field of its class.
"""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import importlib
import inspect
import re
import typing
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
OURS = ("kaizen_core", "kaizen_langchain", "kaizen_llamaindex")
# what a `with` over a generator-based context manager binds: the type it yields
_YIELDING = (collections.abc.Iterator, collections.abc.AsyncIterator, collections.abc.Generator)


def _ours(value: Any) -> bool:
    return getattr(value, "__module__", "").startswith(OURS)


class Example:
    """One README block, its imports bound to the real objects, and what its names hold."""

    def __init__(self, block: str) -> None:
        self.tree = ast.parse(block)
        self.names: dict[str, Any] = {}
        self.bound: dict[str, list[tuple[int, type]]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
                    self.names[alias.asname or alias.name] = getattr(module, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.names[alias.asname or alias.name] = importlib.import_module(alias.name)
        for name, line, value, in_with in sorted(self._bindings(), key=lambda b: b[1]):
            cls = self.made(value, in_with)
            if cls is not None:
                self.bound.setdefault(name, []).append((line, cls))

    def _bindings(self) -> list[tuple[str, int, ast.expr, bool]]:
        found = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                if isinstance(node.targets[0], ast.Name):
                    found.append((node.targets[0].id, node.lineno, node.value, False))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        found.append((item.optional_vars.id, node.lineno, item.context_expr, True))
        return found

    def type_of(self, name: str, line: int) -> type | None:
        """The class of what ``name`` holds at ``line`` (its latest binding above it)."""
        earlier = [cls for bound_at, cls in self.bound.get(name, []) if bound_at <= line]
        return earlier[-1] if earlier else None

    def callee(self, call: ast.Call) -> Any:
        func = call.func
        if isinstance(func, ast.Name) and _ours(self.names.get(func.id)):
            return self.names[func.id]
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            cls = self.type_of(func.value.id, call.lineno)
            if cls is not None:
                assert hasattr(cls, func.attr), f"{cls.__name__} has no method {func.attr}"
                return getattr(cls, func.attr)
        return None

    def made(self, value: ast.expr, in_with: bool) -> type | None:
        """Our class of what ``value`` evaluates to (or, in a ``with``, what it binds)."""
        if not isinstance(value, ast.Call):
            return None
        callee = self.callee(value)
        if callee is None:
            return None
        if inspect.isclass(callee):
            return callee
        made = typing.get_type_hints(callee).get("return")
        if in_with and typing.get_origin(made) in _YIELDING:
            made = typing.get_args(made)[0]
        return made if inspect.isclass(made) and _ours(made) else None


def _has_attribute(cls: type, name: str) -> bool:
    if hasattr(cls, name) or name in getattr(cls, "model_fields", {}):
        return True
    if dataclasses.is_dataclass(cls) and name in {f.name for f in dataclasses.fields(cls)}:
        return True
    return any(name in getattr(base, "__annotations__", {}) for base in cls.__mro__)


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_a_readme_example_uses_what_exists(block: str) -> None:
    example = Example(block)
    for node in ast.walk(example.tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            cls = example.type_of(node.value.id, node.lineno)
            if cls is not None:
                assert _has_attribute(cls, node.attr), f"{cls.__name__} has no {node.attr}"
        if not isinstance(node, ast.Call):
            continue
        callee = example.callee(node)
        if callee is None:
            continue
        parameters = inspect.signature(callee).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            continue
        for keyword in node.keywords:
            if keyword.arg is not None:
                assert keyword.arg in parameters, (
                    f"{getattr(callee, '__qualname__', callee)} takes no {keyword.arg}="
                )
