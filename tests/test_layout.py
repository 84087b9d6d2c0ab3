"""The layout holds: no import cycles (type-only and function-local imports included), and every
import between rooms points down the map below, which the README's "Development" section draws.

A new module lands in a room by its folder (``handler/<room>/``) or, for a top-level module, by
:data:`TOP_LEVEL`; a module no room claims fails :func:`test_every_module_has_a_room`, so a new room
is added here (and to the README's map) on purpose, with what it may import.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "handler"

#: The base modules every room may import; among themselves only the no-cycle rule applies.
BASE = "base"
#: Top-level modules (``handler/<name>.py``) by room; folders are rooms of their own name.
TOP_LEVEL: Mapping[str, str] = {
    "app": "entries",
    "chat": "entries",
    "gitlab": "entries",
    "__main__": "entries",
    "preview": "entries",
    "demo": "entries",
    "runtime": "runtime",
    "logs": "logs",
    "metrics": BASE,
    "settings": "settings",
    "routing": "routing",
    "model": BASE,
    "runs": BASE,
    "errors": BASE,
    "deadline": BASE,
    "problems": BASE,
    "handler": BASE,
}
#: Each room and the rooms it may import (besides itself and :data:`BASE`). ``entries`` may import
#: anything. Keep in step with the README's "Development" map.
MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "entries": frozenset({"*"}),
    "demos": frozenset({"*"}),
    "pipelines": frozenset(
        {
            "actions",
            "runtime",
            "logs",
            "inbound",
            "enrich",
            "sources",
            "render",
            "deliver",
            "state",
            "routing",
            "settings",
            "pull_requests",
            "aws",
        }
    ),
    "actions": frozenset(
        {
            "runtime",
            "logs",
            "inbound",
            "enrich",
            "sources",
            "render",
            "deliver",
            "state",
            "routing",
            "settings",
            "pull_requests",
            "aws",
        }
    ),
    "runtime": frozenset({"enrich", "deliver", "state", "settings", "pull_requests", "aws"}),
    "logs": frozenset({"settings"}),
    "inbound": frozenset({"state", "settings"}),
    "enrich": frozenset({"sources", "pull_requests", "aws"}),  # aws: the error-code table (aws.errors)
    "sources": frozenset({"render", "pull_requests"}),  # render: only the text scrubber (render.mrkdwn.scrub)
    "render": frozenset({"settings", "deliver", "pull_requests"}),  # deliver: only the Flavor
    "settings": frozenset({"deliver", "routing", "pull_requests"}),
    "deliver": frozenset(),
    "routing": frozenset({"pull_requests"}),
    "state": frozenset(),
    "pull_requests": frozenset(),
    "aws": frozenset(),
    BASE: frozenset(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def handler_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def room_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) == 1:
        return TOP_LEVEL.get("handler")
    if (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return TOP_LEVEL.get(parts[1])


def imports_of(path: Path, modules: Iterable[str]) -> set[str]:
    """Every handler module ``path`` imports, anywhere in it (top level, TYPE_CHECKING, functions)."""
    known = set(modules)

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "handler":
                found.update(filter(None, (resolve(f"{node.module}.{alias.name}") for alias in node.names)))
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.split(".")[0] == "handler"]
            found.update(filter(None, map(resolve, names)))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = handler_modules()
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def upward_imports(graph: Mapping[str, Iterable[str]]) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        room = room_of(module)
        for target in targets:
            target_room = room_of(target)
            if room is None or target_room is None or target_room in (room, BASE):
                continue
            allowed = MAY_IMPORT.get(room, frozenset())
            if "*" not in allowed and target_room not in allowed:
                wrong.append(f"{module} ({room}) imports {target} ({target_room})")
    return sorted(wrong)


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_imports_point_down_the_map() -> None:
    assert upward_imports(import_graph()) == []


def test_the_map_itself_has_no_cycle() -> None:
    rooms = {room: {target for target in targets if target != "*"} for room, targets in MAY_IMPORT.items()}
    assert cycles(rooms) == []


def test_every_module_has_a_room() -> None:
    homeless = [name for name in handler_modules() if room_of(name) not in MAY_IMPORT]
    assert homeless == []


def test_the_readme_draws_every_room() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    folders = sorted(path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__")
    assert [folder for folder in folders if f"handler/{folder}/" not in readme] == []


# The checks above would pass on an empty graph; these show they catch what they are for.


def test_a_type_only_cycle_is_found(tmp_path: Path) -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from handler.b import B\n"
    (tmp_path / "a.py").write_text(source)
    imports = imports_of(tmp_path / "a.py", ["handler.a", "handler.b"])
    assert imports == {"handler.b"}
    assert cycles({"handler.a": imports, "handler.b": {"handler.a"}}) == [["handler.a", "handler.b"]]


def test_a_function_local_import_counts(tmp_path: Path) -> None:
    source = "def late():\n    from handler.runtime import Runtime\n    return Runtime\n"
    (tmp_path / "a.py").write_text(source)
    assert imports_of(tmp_path / "a.py", ["handler.runtime"]) == {"handler.runtime"}


@pytest.mark.parametrize(
    ("module", "target", "upward"),
    [
        ("handler.render.push", "handler.pipelines.push", True),
        ("handler.state.heads", "handler.runtime", True),
        ("handler.pull_requests.people", "handler.sources.trigger", True),
        ("handler.deliver.senders", "handler.settings", True),
        ("handler.pipelines.push", "handler.runtime", False),
        ("handler.render.push", "handler.model", False),
        ("handler.app", "handler.pipelines.push", False),
    ],
)
def test_an_upward_import_is_found(module: str, target: str, upward: bool) -> None:
    assert bool(upward_imports({module: {target}})) is upward


def test_a_longer_cycle_is_found() -> None:
    graph = defaultdict(set, {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert cycles(graph) == [["a", "b", "c"]]
