"""Recipes: picklable, JSON-able descriptions that rebuild exactly the model that made a store.

A :class:`TokenizerConfig` is a name (registry name or absolute path) plus every option that
changes tokens, with its effective value (``Tokenizer.recipe_options()``): layers, combine mode
and weights, dtype, final layer norm, window and context, number of codebooks, the codebook
file and its sha256, the weights file, random-weight architecture settings. It is written into
every store's commit record and into each shard's metadata, so any process (a decode worker,
a Ray actor, a training job) can rebuild the tokenizer with ``audiotok.factory.build(recipe)``;
``audiotok.load_for_store(dir)`` does so and checks the result against the store's spec.
:class:`ExtractorConfig` is the same for feature extractors (``audiotok extract``).

A recipe is plain data: this module imports no model code, so the store layer (which reads
recipes from commit records) never depends on the models; building is the factory's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Options that locate files or pick hardware; what they point to is compared through the
# sha256s of the spec (weights_sha256, codebook_sha256), so moving a file changes nothing.
NOT_IDENTITY = frozenset({"weights", "codebook", "device", "allow_pickle"})


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy/torch scalars
        return value.item()
    return value


@dataclass(frozen=True)
class _Recipe:
    name: str
    options: dict[str, Any] = field(default_factory=dict)

    TARGET = ""

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.TARGET, "name": self.name, "options": _json_safe(self.options)}

    def diff(self, other: _Recipe) -> list[str]:
        """What differs in what changes the output: ``option: old != new`` per option."""
        out = []
        if self.name != other.name:
            out.append(f"model: {self.name!r} != {other.name!r}")
        a, b = _json_safe(self.options), _json_safe(other.options)
        for key in sorted(set(a) | set(b)):
            if key in NOT_IDENTITY:
                continue
            if a.get(key) != b.get(key):
                out.append(f"{key}: {a.get(key)!r} != {b.get(key)!r}")
        return out

    def __hash__(self) -> int:
        return hash((self.TARGET, self.name, repr(sorted(self.to_dict()["options"].items()))))


@dataclass(frozen=True, eq=True)
class TokenizerConfig(_Recipe):
    """What rebuilds a tokenizer (``audiotok.factory.build``)."""

    TARGET = "tokenizer"


@dataclass(frozen=True, eq=True)
class ExtractorConfig(_Recipe):
    """What rebuilds a feature extractor (``audiotok.factory.build``)."""

    TARGET = "extractor"


# Opt-ins a reader gives for itself: a recipe read from a file (a store, a codebook header)
# never carries them, so a store cannot ask to unpickle the weights file it names.
READER_OPT_INS = frozenset({"allow_pickle"})


def recipe_from_dict(d: Any, where: str = "recipe") -> TokenizerConfig | ExtractorConfig:
    """A recipe read from disk; ``where`` names its file in the one-line error."""
    from audiotok.errors import AudiotokError

    if not isinstance(d, dict):
        raise AudiotokError(f"{where}: expected an object, found {type(d).__name__}")
    name, options = d.get("name"), d.get("options") or {}
    if not isinstance(name, str) or not name:
        raise AudiotokError(f'{where}: field "name" must be a non-empty string, not {name!r}')
    if not isinstance(options, dict):
        raise AudiotokError(f'{where}: field "options" must be an object, not {options!r}')
    cls = ExtractorConfig if d.get("target") == "extractor" else TokenizerConfig
    return cls(name, {str(k): v for k, v in options.items() if k not in READER_OPT_INS})
