"""Run audiotok from a bare checkout: no install, no project virtual environment.

``pyproject.toml`` maps three folders into the package (setuptools ``package-dir``):
``cli/`` -> ``audiotok.cli``, ``kmeans/`` -> ``audiotok.kmeans``, ``vocoders/`` ->
``audiotok.vocoders``. An installed (or editable) audiotok knows this; a checkout copied to a
GPU node with a Python of its own does not. :func:`install` puts the checkout first on
``sys.path`` and a meta path finder first on ``sys.meta_path`` that maps exactly those names
(read from ``pyproject.toml``) to their folders, so ``import audiotok.kmeans`` loads this
tree's ``kmeans/`` whatever else is installed. Submodules (``audiotok.kmeans.lloyd``) are then
found through the package's ``__path__`` by Python's own path finder.

:func:`unpack_wheels` brings packages the node lacks: each ``*.whl`` of a folder (a wheel is a
zip of an install tree) is unpacked into one directory put first on ``sys.path`` and
``PYTHONPATH`` (spawned worker processes inherit both), so carried wheels win over whatever
version is installed: they were carried for a reason. ``benchmarks/gpu_wheels.sh`` fills
``.whl/``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
# What pyproject.toml says (read from it where tomllib exists, Python >= 3.11; a test checks
# that this copy for Python 3.10 agrees with the file).
PACKAGE_DIRS = {"audiotok.cli": "cli", "audiotok.kmeans": "kmeans", "audiotok.vocoders": "vocoders"}


def package_dirs(root: Path = ROOT) -> dict[str, str]:
    """Package name -> folder (relative to ``root``) for every package not at its own path."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return dict(PACKAGE_DIRS)
    with open(root / "pyproject.toml", "rb") as f:
        declared = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    return {name: d for name, d in declared.items() if name.replace(".", "/") != d}


class SourceTreeFinder(importlib.abc.MetaPathFinder):
    """Finds the mapped packages of one checkout (and nothing else)."""

    def __init__(self, root: Path, mapping: dict[str, str]):
        self.root = root
        self.mapping = mapping

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        folder = self.mapping.get(fullname)
        if folder is None:
            return None
        init = self.root / folder / "__init__.py"
        return importlib.util.spec_from_file_location(
            fullname, init, submodule_search_locations=[str(init.parent)]
        )


def install(root: Path = ROOT) -> SourceTreeFinder:
    """Make ``import audiotok`` (and its mapped subpackages) load this checkout. Idempotent.

    Raises RuntimeError when ``audiotok`` was already imported from somewhere else: modules
    of two trees would mix."""
    root = root.resolve()
    for finder in sys.meta_path:
        if isinstance(finder, SourceTreeFinder) and finder.root == root:
            return finder
    loaded = sys.modules.get("audiotok")
    if loaded is not None and Path(loaded.__file__ or "").resolve().parent != root / "audiotok":
        raise RuntimeError(f"audiotok is already imported from {loaded.__file__}, not {root}")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    finder = SourceTreeFinder(root, package_dirs(root))
    sys.meta_path.insert(0, finder)
    return finder


def unpack_wheels(wheel_dir: Path, dest: Path) -> list[str]:
    """Unpack every ``*.whl`` of ``wheel_dir`` into ``dest`` and put ``dest`` first on
    ``sys.path`` and ``PYTHONPATH``. Returns the wheel file names (none: nothing changes)."""
    wheels = sorted(Path(wheel_dir).glob("*.whl"))
    if not wheels:
        return []
    dest.mkdir(parents=True, exist_ok=True)
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            z.extractall(dest)
    # <name>.data/{purelib,platlib}/ hold files that belong in site-packages itself
    for data in dest.glob("*.data"):
        for lib in ("purelib", "platlib"):
            src = data / lib
            if src.is_dir():
                for item in src.iterdir():
                    target = dest / item.name
                    if not target.exists():
                        shutil.move(str(item), target)
    for so in dest.rglob("*.so*"):  # zip files do not keep the execute bit
        so.chmod(so.stat().st_mode | 0o111)
    sys.path.insert(0, str(dest))
    importlib.invalidate_caches()
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(dest) + (os.pathsep + old if old else "")
    return [w.name for w in wheels]


def origin(module: str) -> str | None:
    """The file a module was (or would be) loaded from, without importing it where it is not
    yet imported; None when it cannot be found."""
    loaded = sys.modules.get(module)
    if loaded is not None:
        return getattr(loaded, "__file__", None)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None else None


def available(module: str) -> bool:
    """True when ``module`` can be imported (found; not imported here)."""
    return origin(module) is not None
