"""The model registry: typed entries, looked up by name, built lazily.

An entry names where its weights come from (release URL, Hugging Face repo, torchaudio
bundle), the published checksum, the licence, and the rates. ``builder`` is a dotted
"module:function" imported only when the model is built, so listing models never imports
torch or model code. Other modules register their entries with :func:`register`.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any

from audiotok.errors import UnknownModelError

# The immutable revision a download URL names: a Hugging Face commit (40 hex digits after
# ``/resolve/``) or a GitHub release tag (``/releases/download/<tag>/``). A branch (``main``)
# names no revision: its file can change under the same URL.
_HF_COMMIT = re.compile(r"/resolve/([0-9a-f]{40})/")
_HF_BRANCH = re.compile(r"/resolve/([^/]+)/")
_GH_RELEASE = re.compile(r"/releases/download/([^/]+)/")


@dataclass(frozen=True)
class WeightFile:
    """One file of pretrained weights.

    sha256: the full digest where the owner publishes one (or where the project read it at
    the pinned revision); sha256_prefix: the leading hex digits where the owner publishes only
    those (EnCodec and torch.hub file names). With neither, the first download is recorded
    under ``$AUDIOTOK_HOME/checksums/first-use/`` and checked ever after (trust on first use).
    """

    filename: str
    url: str = ""
    sha256: str = ""
    sha256_prefix: str = ""
    size_bytes: int = 0

    @property
    def pin(self) -> str:
        """What fixes the file the URL serves: ``commit <hash>``, ``release <tag>``,
        ``branch <name> (unpinned)``, or ``fixed URL`` (a plain file URL, no revision)."""
        if m := _HF_COMMIT.search(self.url):
            return f"commit {m.group(1)[:10]}"
        if m := _GH_RELEASE.search(self.url):
            return f"release {m.group(1)}"
        if m := _HF_BRANCH.search(self.url):
            return f"branch {m.group(1)} (unpinned)"
        return "fixed URL" if self.url else "no URL"

    @property
    def pinned(self) -> bool:
        return self.pin.startswith(("commit ", "release "))

    @property
    def check(self) -> str:
        """How a copy is verified: ``sha256`` (full digest), ``sha256 prefix`` or
        ``first-use`` (the digest of the first download, recorded then)."""
        if self.sha256:
            return "sha256"
        return "sha256 prefix" if self.sha256_prefix else "first-use"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    # "semantic" | "acoustic" | "hybrid" | "extractor" | "vocoder" (of units) | "decoder" (of a
    # codec's codes or of spectrograms: Vocos)
    kind: str
    builder: str  # "package.module:function", called as builder(entry, **options)
    description: str = ""
    source: str = ""  # human-readable origin: URL, HF repo, torchaudio bundle
    license: str = ""
    sample_rate: int = 0
    frame_rate: float = 0.0
    num_layers: int = 0
    files: tuple[WeightFile, ...] = ()
    shipped: bool = False  # weights are inside the package
    options: dict[str, Any] = field(default_factory=dict)  # defaults passed to the builder
    encode_only: bool = False  # tokens with no decoder in audiotok (`models list` says so)
    streaming: bool = False  # causal: offers streaming_encoder() / streaming_decoder()

    def build(self, **options: Any) -> Any:
        module_name, func_name = self.builder.split(":")
        try:
            func = getattr(importlib.import_module(module_name), func_name)
            merged = {**self.options, **options}
            _check_options(self.name, func, merged)
            return func(self, **merged)
        except ModuleNotFoundError as e:
            package = (e.name or "").split(".")[0]
            extra = OPTIONAL_PACKAGES.get(package)
            if extra is None:
                raise
            from audiotok.errors import AudiotokError

            raise AudiotokError(
                f"model {self.name!r} needs the optional package {package!r}: "
                f"pip install 'audiotok[{extra}]'"
            ) from None


def _check_options(name: str, func: Any, options: dict[str, Any]) -> None:
    """A builder that does not take an option must refuse it, not swallow it."""
    import inspect

    params = inspect.signature(func).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return  # the builder checks what it forwards
    takes = [p for p in params if p != "entry"]
    unknown = sorted(k for k in options if k not in params)
    if unknown:
        from audiotok.errors import AudiotokError

        raise AudiotokError(
            f"model {name!r} does not take the option(s) {', '.join(unknown)} "
            f"(it takes: {', '.join(takes)})"
        )


# Packages of optional extras, for the message when one is missing.
OPTIONAL_PACKAGES = {"transformers": "s3m", "yaml": "vocos"}

_REGISTRY: dict[str, ModelEntry] = {}
# Modules whose import registers entries; imported on first lookup (no torch inside them).
_ENTRY_MODULES = (
    "audiotok.models_catalog",
    "audiotok.extractors.catalog",
    "audiotok.codecs.catalog",
    "audiotok.codecs.hybrid_catalog",
    "audiotok.codecs.snac_catalog",
    "audiotok.vocoders.catalog",
)
_loaded = False


def register(entry: ModelEntry) -> ModelEntry:
    if entry.name in _REGISTRY and _REGISTRY[entry.name] != entry:
        raise ValueError(f"model {entry.name!r} registered twice with different entries")
    _REGISTRY[entry.name] = entry
    return entry


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in _ENTRY_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # an optional catalogue not present in this build
            if e.name != mod:
                raise


def entries(kind: str | None = None) -> list[ModelEntry]:
    _ensure_loaded()
    return [e for e in _REGISTRY.values() if kind is None or e.kind == kind]


def get(name: str) -> ModelEntry:
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib

        names = sorted(_REGISTRY)
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Known: {', '.join(names)} "
            "(`audiotok models list` describes them), or give a path."
        ) from None


def find_all_by_filename(filename: str, kinds: tuple[str, ...] | None = None) -> list[ModelEntry]:
    """Entries whose published weight file has this name (to recognise `--model PATH`)."""
    _ensure_loaded()
    return [
        e
        for e in _REGISTRY.values()
        if (kinds is None or e.kind in kinds) and any(f.filename == filename for f in e.files)
    ]


def find_by_filename(filename: str) -> ModelEntry | None:
    """The one entry whose published weight file has this name; None if none or several."""
    found = find_all_by_filename(filename)
    return found[0] if len(found) == 1 else None
