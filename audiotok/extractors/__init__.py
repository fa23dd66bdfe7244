"""Feature extractors: MFCC and self-supervised speech models, one contract.

``audiotok.extractors.load(name, layers=[...])`` returns a callable
``(wav[B, T], lengths[B]) -> (feats[B, T', D], frame_lengths[B])``. ``name`` is a registry
name (``hubert-large-ll60k``, ``mfcc``) or a folder in Hugging Face layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiotok.extractors.base import FeatureExtractor


def load(name: str, **options: Any) -> FeatureExtractor:
    from audiotok import registry
    from audiotok.errors import AudiotokError, UnknownModelError

    try:
        entry = registry.get(name)
    except UnknownModelError:
        p = Path(name).expanduser()
        if not p.exists():
            raise
        entry = None
    if entry is None:
        from audiotok.extractors.loading import load_s3m

        given = options.pop("weights", None)  # a recipe names the weights file it used
        if given is not None:
            g = Path(given).expanduser().resolve()
            if g != p.resolve() and not (p.is_dir() and g.parent == p.resolve()):
                raise AudiotokError(
                    f"{name} holds its own weights; --weights {given} would be another model: "
                    "pass one or the other"
                )
        return load_s3m(None, weights=p, **options)
    if entry.kind != "extractor":
        raise AudiotokError(f"{name!r} is a {entry.kind} model, not a feature extractor")
    return entry.build(**options)


def extractor_for(
    model: str,
    *,
    layers: Any = None,
    weights: str | None = None,
    allow_pickle: bool = False,
    dtype: str | None = None,
    device: str = "auto",
) -> tuple[FeatureExtractor, Any]:
    """The extractor a corpus command asks for, and its recipe (``ExtractorConfig``).

    Options a model does not take are refused by its builder (MFCC takes none), so the CLI
    never decides by the model's name what applies."""
    from audiotok.recipe import ExtractorConfig
    from audiotok.tokenizer import resolve_device

    options: dict[str, Any] = {"layers": layers, "weights": weights, "dtype": dtype}
    if allow_pickle:
        options["allow_pickle"] = True
    options = {k: v for k, v in options.items() if v is not None}
    p = Path(model).expanduser()
    name = str(p.resolve()) if p.exists() else model
    ex = load(name, **options).to(resolve_device(device))
    effective = ex.recipe_options() if hasattr(ex, "recipe_options") else {}
    user = {k: v for k, v in options.items() if k not in ("layers",)}
    return ex, ExtractorConfig(name, {**user, **effective})


__all__ = ["FeatureExtractor", "extractor_for", "load"]
