"""The package's layers point down and its modules form no circle (issue 20; docs/architecture.md).

Every import counts, including the ones inside functions (grimp reads them all). A module's layer is the longest
prefix in LAYERS that names it; a module may import its own layer and the layers below it, never one above.
"""

from __future__ import annotations

import grimp
import pytest

# Bottom to top. `link.protocol` (the wire format) sits low because the model's code generator bakes its SELFTEST
# input and CRC into the firmware sources; the rest of `link` (client, ports, flashing) sits above the firmware.
LAYERS = [
    ("vwwdeploy.errors", 0),
    ("vwwdeploy.constants", 0),
    ("vwwdeploy.paths", 0),
    ("vwwdeploy.progress", 0),
    ("vwwdeploy.atomic", 0),
    ("vwwdeploy.data", 1),
    ("vwwdeploy.link.protocol", 2),
    ("vwwdeploy.model", 3),
    ("vwwdeploy.training", 4),
    ("vwwdeploy.firmware", 5),
    ("vwwdeploy.link", 6),
    ("vwwdeploy.virtual_boards", 7),
    ("vwwdeploy.apps", 8),
    ("vwwdeploy.commands", 9),
    ("vwwdeploy.cli_args", 9),
    ("vwwdeploy.cli", 10),
    ("vwwdeploy.__main__", 11),
    ("vwwdeploy.testing", 12),  # test doubles for the tests and benchmarks: nothing in the product imports them
    ("vwwdeploy", 0),  # the package's own __init__ (only __version__)
]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("vwwdeploy", cache_dir=None)


def layer_of(module: str) -> tuple[str, int]:
    best = max((p for p in LAYERS if module == p[0] or module.startswith(p[0] + ".")), key=lambda p: len(p[0]))
    return best


def upward_imports(graph) -> list[str]:
    found = []
    for importer in sorted(graph.modules):
        low_name, low = layer_of(importer)
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            high_name, high = layer_of(imported)
            if high > low:
                lines = graph.get_import_details(importer=importer, imported=imported)
                where = ", ".join(f"line {d['line_number']}" for d in lines)
                found.append(
                    f"{importer} ({low_name}, layer {low}) imports {imported} ({high_name}, layer {high}), {where}"
                )
    return found


def circles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_every_module_has_a_declared_layer(graph):
    assert all(layer_of(m) for m in graph.modules)


def test_no_import_points_up(graph):
    assert upward_imports(graph) == []


def test_no_circle(graph):
    assert circles(graph) == []


def test_the_checks_see_a_circle_and_an_upward_import():
    """The checks themselves can fail: a hand-made graph with one of each."""
    g = grimp.ImportGraph()
    for m in ("vwwdeploy.data.a", "vwwdeploy.apps.b", "vwwdeploy.data.c"):
        g.add_module(m)
    g.add_import(importer="vwwdeploy.data.a", imported="vwwdeploy.apps.b", line_number=3, line_contents="x")
    g.add_import(importer="vwwdeploy.data.a", imported="vwwdeploy.data.c", line_number=4, line_contents="x")
    g.add_import(importer="vwwdeploy.data.c", imported="vwwdeploy.data.a", line_number=5, line_contents="x")
    assert upward_imports(g) == [
        "vwwdeploy.data.a (vwwdeploy.data, layer 1) imports vwwdeploy.apps.b (vwwdeploy.apps, layer 8), line 3"
    ]
    assert circles(g) == [["vwwdeploy.data.a", "vwwdeploy.data.c"]]
