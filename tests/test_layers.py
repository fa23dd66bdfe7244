"""Who may import whom, checked on the source (issue 20): every ``import`` of every module,
function-level and ``TYPE_CHECKING`` ones included, is read with ``ast``.

The table below (:data:`LAYERS`) is the one in docs/architecture.md ("Layers"): a module may
import modules of its own layer and of the layers below it, never above. A module belongs to
the layer of the longest prefix that names it, so a module added to a package inherits the
package's rules. It gives, among others: recipes are plain data and the store imports no model
code; inference (codecs, extractors, vocoders, kmeans codebooks) never imports the training kit
``audiotok.train``; nothing in the library imports ``audiotok.cli``. Besides, the package has no
import cycle, and the CLI imports no private name of a library module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# pyproject's package-dir: folder -> installed package
PACKAGE_DIRS = {
    "audiotok": "audiotok",
    "cli": "audiotok.cli",
    "kmeans": "audiotok.kmeans",
    "vocoders": "audiotok.vocoders",
}

# Bottom to top: (layer, module prefixes). A module may import its own layer and lower ones.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # plain data: what a store records and every error; no model code, no torch
    ("data", ("errors", "spec", "recipe", "jsonfields")),
    # utilities every layer uses: audio I/O, corpus scan, registry (names -> builder strings),
    # folder formats (config checks, no loaders), the Tokenizer contract
    (
        "base",
        (
            "optional",
            "rng",
            "safe_paths",
            "registry",
            "models_catalog",
            "folder_formats",
            "audio",
            "corpus",
            "spectral",
            "tokenizer",
        ),
    ),
    ("store", ("store",)),  # the sharded store: reads recipes, never builds a model
    ("weights", ("weights",)),  # the cache, checksums, safe loading
    # inference: models and their loaders; the kmeans codebook (its runs are higher up)
    ("models", ("extractors", "codecs", "kmeans", "vocoders", "semantic", "streaming")),
    ("factory", ("factory",)),  # recipe -> model
    ("pipeline", ("pipeline", "engines", "decoding")),  # plan, load, batch, sinks; decode
    ("api", ("__init__",)),  # the `import audiotok` facade (load, open_tokens, encode_corpus)
    # evaluation, reports, LM feeds; k-means runs over a corpus (sources, evaluation, report)
    (
        "analysis",
        (
            "metrics",
            "eval",
            "report",
            "feed",
            "kmeans.audio_source",
            "kmeans.sources",
            "kmeans.evaluate",
            "kmeans.runs",
            "kmeans.report",
        ),
    ),
    ("train", ("train",)),  # the training kit and solvers
    ("cli", ("cli", "__main__")),  # parse, call the library, print
]


def _modules() -> dict[str, Path]:
    """Module name (without the leading ``audiotok.``; the package itself is ``__init__``) ->
    file."""
    out = {}
    for folder, package in PACKAGE_DIRS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([*package.split(".")[1:], *parts])
            out[name or "__init__"] = path
    return out


MODULES = _modules()


def _resolve(dotted: str) -> str | None:
    """The module of ours a dotted name (``audiotok.x.y``, perhaps ``.attr``) lands in."""
    if dotted != "audiotok" and not dotted.startswith("audiotok."):
        return None
    name = dotted.removeprefix("audiotok").removeprefix(".")
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return "__init__"


def _imports(module: str) -> Iterator[tuple[str, int, list[str]]]:
    """(imported module, line, names taken from it) for every import statement of ``module``."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    here = [] if module == "__init__" else module.split(".")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name)
                if target is not None:
                    yield target, node.lineno, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = ["audiotok", *(here if is_package else here[:-1])]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            names = [a.name for a in node.names]
            if base == "audiotok" and names == ["__version__"]:
                continue  # the version string, no code
            for name in names:
                target = _resolve(f"{base}.{name}")
                if target is not None:
                    # `from pkg import module` imports that module; `from module import name`
                    # takes a name of it
                    yield target, node.lineno, [] if target.endswith(name) else [name]


GRAPH = {m: {t for t, _, _ in _imports(m)} - {m} for m in MODULES}


def _match(module: str, prefixes: tuple[str, ...] | list[str]) -> int:
    """Length of the longest prefix naming ``module`` (0: none)."""
    best = 0
    for p in prefixes:
        if module == p or module.startswith(p + "."):
            best = max(best, len(p))
    return best


def layer_of(module: str) -> int:
    scores = [_match(module, prefixes) for _, prefixes in LAYERS]
    if max(scores) == 0:
        raise AssertionError(
            f"audiotok.{module} is in no layer: add its package to LAYERS in tests/test_layers.py "
            "and to the table in docs/architecture.md"
        )
    return scores.index(max(scores))


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_a_layer_above_its_own():
    bad = []
    for module in sorted(MODULES):
        for target, line, _ in _imports(module):
            if layer_of(target) > layer_of(module):
                bad.append(
                    f"{MODULES[module].relative_to(ROOT)}:{line}: audiotok.{module} "
                    f"({LAYERS[layer_of(module)][0]}) imports audiotok.{target} "
                    f"({LAYERS[layer_of(target)][0]})"
                )
    assert bad == []


@pytest.mark.parametrize(
    "importer, forbidden",
    [
        ("recipe", ("codecs", "extractors", "vocoders", "factory", "kmeans", "semantic", "store")),
        ("store", ("codecs", "extractors", "vocoders", "factory", "kmeans", "semantic")),
        ("codecs", ("train",)),
        ("extractors", ("train",)),
        ("vocoders", ("train",)),
    ],
)
def test_the_rules_issue_20_names(importer, forbidden):
    """Spelled out (the layers imply them): recipes and the store import no model code;
    inference never imports the training kit (beyond the known exceptions being moved)."""
    bad = [
        f"audiotok.{m} -> audiotok.{t}"
        for m in MODULES
        if _match(m, [importer])
        for t in GRAPH[m]
        if _match(t, forbidden)
    ]
    assert bad == []


def test_the_library_never_imports_the_cli():
    bad = [
        f"audiotok.{m} -> audiotok.{t}"
        for m in MODULES
        if not _match(m, ["cli", "__main__"])
        for t in GRAPH[m]
        if _match(t, ["cli"])
    ]
    assert bad == []


def test_the_cli_takes_no_private_name_of_the_library():
    bad = [
        f"{MODULES[m].relative_to(ROOT)}:{line}: {name} of audiotok.{t}"
        for m in MODULES
        if _match(m, ["cli"])
        for t, line, names in _imports(m)
        if not _match(t, ["cli"])
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ] + [
        f"audiotok.{m} imports the private module audiotok.{t}"
        for m in MODULES
        if _match(m, ["cli"])
        for t in GRAPH[m]
        if not _match(t, ["cli"]) and any(p.startswith("_") for p in t.split(".")[1:])
    ]
    assert bad == []


def _cycles() -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []
    for root in sorted(GRAPH):
        if root in index:
            continue
        work = [(root, iter(sorted(GRAPH[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(GRAPH[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(frozenset(comp))
    return out


def test_no_import_cycle():
    assert [sorted(c) for c in _cycles()] == []


def test_the_cycle_finder_finds_a_cycle(monkeypatch):
    """The check above could fail: a graph with a cycle through three modules is reported."""
    monkeypatch.setitem(GRAPH, "recipe", GRAPH["recipe"] | {"factory"})
    assert frozenset({"recipe", "factory"}) <= max(_cycles(), key=len)


def test_docs_hold_the_same_table():
    """docs/architecture.md ("Layers") lists the same layers, in order, with their modules."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| layer ")
    ]
    assert [r[0] for r in rows] == [name for name, _ in LAYERS]
    for (name, prefixes), row in zip(LAYERS, rows, strict=True):
        for p in prefixes:
            forms = {f"`{p}`", f"`{p}/`", f"`.{p.rpartition('.')[2]}`", f"/{p}.py`"}
            assert any(f in row[1] for f in forms), (name, p)
