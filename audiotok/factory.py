"""``audiotok.load``: a tokenizer from a registry name or a path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiotok import registry
from audiotok.errors import AudiotokError, UnknownModelError
from audiotok.tokenizer import Tokenizer

TOKENIZER_KINDS = ("semantic", "acoustic", "hybrid")


def load_tokenizer(name_or_path: str, kind: str | None = None, **options: Any) -> Tokenizer:
    """Build a tokenizer.

    - a tokenizer name from the registry (``mfcc-km100``, ``encodec-24khz``);
    - an extractor name (``mfcc``, ``hubert-base-ls960``) with ``codebook=`` -> semantic;
    - a codebook file (``km500.safetensors``): semantic, extractor named in its header;
    - a weights file carrying a registered file name (``encodec_24khz-d7cc33bc.th``).
    """
    if kind is not None and kind not in TOKENIZER_KINDS:
        raise AudiotokError(f"unknown --kind {kind!r}: use one of {', '.join(TOKENIZER_KINDS)}")
    tok = _build(name_or_path, **options)
    if kind is not None and tok.spec.kind != kind:
        raise AudiotokError(
            f"model {name_or_path!r} makes {tok.spec.kind} tokens, not {kind}; "
            f"pick a {kind} model (`audiotok models list`)"
        )
    return tok


def _build(name_or_path: str, **options: Any) -> Tokenizer:
    options = {k: v for k, v in options.items() if v is not None}
    try:
        entry = registry.get(name_or_path)
    except UnknownModelError:
        path = Path(name_or_path).expanduser()
        if not path.exists():
            raise
        return _from_path(path, **options)
    if entry.kind in TOKENIZER_KINDS:
        return entry.build(**options)
    if entry.kind == "extractor":
        from audiotok.semantic import build as build_semantic

        return build_semantic(None, extractor=entry.name, **options)
    raise AudiotokError(f"{entry.name!r} is a {entry.kind}, not a tokenizer")


def _from_path(path: Path, **options: Any) -> Tokenizer:
    if path.suffix == ".safetensors":
        from audiotok.kmeans import load as load_codebook

        cb = load_codebook(path)
        if "extractor" in cb.meta:
            from audiotok.semantic import build as build_semantic

            ex_name = str(options.get("extractor", cb.meta["extractor"]))
            if not Path(ex_name).exists():
                try:
                    registry.get(ex_name)
                except UnknownModelError:
                    raise AudiotokError(
                        f"codebook {path.name} was trained on features of {ex_name!r}, which is "
                        "not a registered model; pass it with --model PATH --codebook "
                        f"{path.name}"
                    ) from None

            options.setdefault("extractor", cb.meta["extractor"])
            if cb.meta.get("layer") is not None:
                options.setdefault("layer", cb.meta["layer"])
            return build_semantic(None, codebook=cb, **options)
    if path.is_dir() and (path / "config.json").is_file():  # an S3M model in HF layout
        from audiotok.semantic import build as build_semantic

        return build_semantic(None, extractor=str(path), **options)
    entry = registry.find_by_filename(path.name)
    if entry is not None:
        return entry.build(weights=str(path), **options)
    raise AudiotokError(
        f"cannot tell which model {path} holds; pass the model name with the file, "
        "e.g. --model encodec-24khz --weights PATH"
    )
