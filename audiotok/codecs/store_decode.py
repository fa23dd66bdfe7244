"""Decoding a token store to wav files: batched by length, long utterances in windows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError


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


def refuse_encode_only(name: str) -> None:
    """Tokens of a registered encode-only model (S3Tokenizer): one line, before any work."""
    from audiotok import registry

    entry = next((e for e in registry.entries() if e.name == name), None)
    if entry is not None and entry.encode_only:
        from audiotok.models_catalog import S3_NO_DECODER

        line = S3_NO_DECODER if name.startswith("s3tokenizer") else "no decoder in audiotok"
        raise AudiotokError(f"{name}: {line}")


def output_path(out_dir: Path, utt_id: str, suffix: str = ".wav") -> Path:
    """``out_dir/<id>.wav``, refusing ids that would not be a file inside ``out_dir``
    (:func:`audiotok.safe_paths.child`: ``../``, absolute, NUL, empty components, too long,
    through a symbolic link)."""
    from audiotok.safe_paths import child

    return child(out_dir, utt_id, suffix=suffix)


def decode_rows(
    rows: Iterable[dict[str, Any]],
    codec: Any,
    dest: Callable[[dict[str, Any]], Path],
    batch_frames: int = 6000,
    sort_rows: int = 1000,
) -> int:
    """Decode store rows (``codes`` [K, T'], ``duration_s``) and write each to ``dest(row)``.

    Rows are taken ``sort_rows`` at a time (memory bound), sorted by length and decoded
    in padded batches of at most ``batch_frames`` frames (``decode_batch`` gives each row
    what it gives alone); rows longer than the codec's ``decode_window_frames`` are decoded
    one by one, in windows.
    """
    import torch

    from audiotok import audio

    k = codec.num_codebooks
    long_limit = codec.decode_window_frames or float("inf")
    n = 0

    def write(row: dict[str, Any], wav) -> None:
        nonlocal n
        wav = wav[: round(row["duration_s"] * codec.sample_rate)].numpy()
        audio.write(str(dest(row)), wav, codec.sample_rate)
        n += 1

    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if not batch:
            return
        lengths = torch.tensor([r["num_frames"] for r in batch])
        codes = torch.zeros(len(batch), k, int(lengths.max()), dtype=torch.long)
        for b, r in enumerate(batch):
            codes[b, :, : lengths[b]] = _long(r["codes"]).reshape(k, -1)
        with torch.inference_mode():
            wav, wav_lengths = codec.decode_batch(codes.to(codec.device), lengths)
        for b, r in enumerate(batch):
            write(r, wav[b, 0, : int(wav_lengths[b])].cpu())
        batch.clear()

    for chunk in _chunks(rows, sort_rows):
        for row in sorted(chunk, key=lambda r: r["num_frames"]):
            if row["num_frames"] > long_limit:
                write(row, codec.decode(_long(row["codes"]).reshape(k, -1)))
                continue
            if batch and (len(batch) + 1) * row["num_frames"] > batch_frames:
                flush()
            batch.append(row)
        flush()
    return n


def _long(codes: Any) -> Any:
    import numpy as np
    import torch

    return torch.from_numpy(np.asarray(codes, dtype=np.int64))


def _chunks(rows: Iterable[dict[str, Any]], size: int):
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
