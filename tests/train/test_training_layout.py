"""Inference modules never import the training kit: codecs/ and vocoders/ hold inference only
(training of codecs and vocoders lives in audiotok/train/)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_codecs_and_vocoders_do_not_import_the_training_kit():
    files = sorted((ROOT / "audiotok" / "codecs").glob("*.py")) + sorted(
        (ROOT / "vocoders").glob("*.py")
    )
    assert len(files) > 20
    bad = {
        str(f.relative_to(ROOT)): sorted(
            m for m in _imports(f) if m == "audiotok.train" or m.startswith("audiotok.train.")
        )
        for f in files
    }
    assert not {k: v for k, v in bad.items() if v}
    # the scan sees lazy imports: the hybrid trainer's own lazy import is one
    assert "audiotok.train.hybrid_task" in _imports(ROOT / "audiotok" / "train" / "hybrid.py")


def test_no_training_module_left_beside_inference():
    names = [f.name for d in ("audiotok/codecs", "vocoders") for f in (ROOT / d).glob("*.py")]
    assert not [n for n in names if "train" in n or "distill" in n]
