"""No two knot modules import each other, directly or around a loop, counting the
imports inside functions too: a loop hidden in a function still means neither module
can be read, tested or moved without the other. Imports under TYPE_CHECKING are left
out, as they never run (a class may name, in a type, the class that holds it).

The graph is import-linter's own (grimp), so this sees what `make lint` sees."""

from __future__ import annotations

import grimp

# Loops in rooms being rebuilt by other work of issue #14; delete an entry once its
# loop is gone (the test below says so).
KNOWN_LOOPS: set[frozenset[str]] = set()


def import_loops(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """Every set of two or more modules that reach each other (Tarjan's strongly
    connected components, written as a loop so deep import chains cannot overflow)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[frozenset[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    imported = sorted(graph.find_modules_directly_imported_by(child))
                    work.append((child, iter(imported)))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                members = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == module:
                        break
                if len(members) > 1:
                    loops.append(frozenset(members))
    return loops


def _graph() -> grimp.ImportGraph:
    # no cache: a stale one would hide a loop added since it was written
    return grimp.build_graph("knot", exclude_type_checking_imports=True, cache_dir=None)


def test_no_module_loops_through_its_imports() -> None:
    loops = import_loops(_graph())
    new = [sorted(loop) for loop in loops if loop not in KNOWN_LOOPS]
    assert not new, (
        f"these knot modules import each other (through imports inside functions too): "
        f"{new}; move what both need into a module each imports, or pass it in"
    )


def test_every_known_loop_still_exists() -> None:
    loops = set(import_loops(_graph()))
    gone = [sorted(loop) for loop in KNOWN_LOOPS if loop not in loops]
    assert not gone, f"these loops are fixed; delete them from KNOWN_LOOPS: {gone}"


def test_the_graph_holds_imports_inside_functions() -> None:
    # ActiveRun.use_dataset imports run_datasets inside the method, for start-up speed
    imported = _graph().find_modules_directly_imported_by("knot.tracking.run")
    assert "knot.tracking.run_datasets" in imported


def test_the_finder_sees_a_loop_and_no_chain() -> None:
    """The check above could pass by seeing nothing: here it must find a loop of three
    modules, and not the module the loop merely leads to."""
    graph = grimp.ImportGraph()
    for module in ("a", "a.one", "a.two", "a.three", "a.tail"):
        graph.add_module(module)
    graph.add_import(importer="a.one", imported="a.two", line_number=1, line_contents="import")
    graph.add_import(importer="a.two", imported="a.three", line_number=1, line_contents="import")
    graph.add_import(importer="a.three", imported="a.one", line_number=9, line_contents="import")
    graph.add_import(importer="a.three", imported="a.tail", line_number=2, line_contents="import")
    assert import_loops(graph) == [frozenset({"a.one", "a.two", "a.three"})]
