"""The decoder of a token store: its own codec (rebuilt from the store's recipe, checked by
weights sha256), another codec checkpoint of the same weights, or Vocos on EnCodec codes.
Semantic units take a unit vocoder (:mod:`audiotok.vocoders`); encode-only models
(S3Tokenizer) have no decoder and are refused in one line, before any work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError


def refuse_encode_only(name: str) -> None:
    """Tokens of a registered encode-only model (S3Tokenizer): one line, before any work."""
    from audiotok import registry

    entry = next((e for e in registry.entries() if e.name == name), None)
    if entry is not None and entry.encode_only:
        from audiotok.models_catalog import S3_NO_DECODER

        line = S3_NO_DECODER if name.startswith("s3tokenizer") else "no decoder in audiotok"
        raise AudiotokError(f"{name}: {line}")


def codec_for_store(
    store: Any, *, model: str | None = None, weights: str | None = None, device: str = "auto"
) -> Any:
    """The codec that made a store's tokens (rebuilt from its recipe, checked by sha256)."""
    from audiotok.factory import load_for_store, load_tokenizer
    from audiotok.tokenizer import resolve_device

    spec = store.spec
    refuse_encode_only(spec.name)
    if spec.kind == "semantic":
        raise AudiotokError(
            f"{store.dir} holds semantic units of {spec.name}; they need a unit vocoder: "
            "pass --vocoder DIR_OR_NAME"
        )
    overrides = {"weights": weights} if weights else {}
    if model is None:
        return load_for_store(store.dir, device=device, **overrides)
    tok = load_tokenizer(model, device=resolve_device(device), **overrides)
    if tok.spec.weights_sha256 != spec.weights_sha256:
        raise AudiotokError(
            f"{store.dir} was made with weights sha256 {spec.weights_sha256[:12]}..., "
            f"{model} has {tok.spec.weights_sha256[:12]}...; pass the same weights (--weights)"
        )
    return tok


def vocos_for_store(store: Any, name: str, weights: str | None, device: str) -> Any:
    """``--decoder vocos`` (``vocos-encodec-24khz``), a registry name or a Vocos folder (or a
    file in it, as ``weights``), checked against the store's spec."""
    from audiotok.codecs.vocos import load_vocos
    from audiotok.tokenizer import resolve_device

    refuse_encode_only(store.spec.name)
    if weights is not None:
        name = str(Path(weights).parent) if Path(weights).is_file() else weights
    dec = load_vocos(
        "vocos-encodec-24khz" if name == "vocos" else name, device=resolve_device(device)
    )
    return dec.for_store(store.spec)
