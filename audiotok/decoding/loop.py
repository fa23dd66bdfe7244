"""The one decoding loop: utterances sorted by length, padded batches, one writer of wavs.

Utterances are taken ``sort_window`` at a time (memory bound) and sorted by length. Those
longer than the decoder's ``window_frames`` are decoded alone (the decoder windows them);
the rest go in padded batches of at most ``batch_frames`` frames, or one at a time when the
decoder says batching is not worth it (``batched = False``). Every wav is written to
``out_dir/<id>.wav`` through :func:`audiotok.safe_paths.child` (ids never leave the folder,
never go through a symbolic link) by :func:`audiotok.audio.write`.

Failure policy: decoding is all or nothing per call (a decoded file is only useful beside
its siblings, and the tokens were checked against the decoder first). An utterance that
cannot be decoded (units outside the vocoder's vocabulary, the model failing on its codes,
named as the pipeline names an encoding failure) or written (an id that would leave the
folder, a full disk) stops the run with one :class:`~audiotok.errors.AudiotokError` naming
it; the files written before it stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.decoding.decoders import Decoder, as_decoder
from audiotok.errors import AudiotokError

Item = tuple[str, np.ndarray, "int | None"]  # id, codes, samples of the source (or None)


def output_path(out_dir: str | Path, utt_id: str, suffix: str = ".wav") -> Path:
    """``out_dir/<id>.wav``, refusing ids that would not be a file inside ``out_dir``
    (:func:`audiotok.safe_paths.child`: ``../``, absolute, NUL, empty components, too long,
    through a symbolic link)."""
    from audiotok.safe_paths import child

    return child(Path(out_dir), utt_id, suffix=suffix)


def decode_items(
    items: Iterable[Item],
    decoder: Decoder,
    dest: Callable[[str], Path],
    *,
    batch_frames: int = 6000,
    sort_window: int = 1000,
) -> int:
    """Decode ``(id, codes, source samples or None)`` items and write each to ``dest(id)``;
    returns the number of files written."""
    from audiotok import audio

    if batch_frames < 1:
        raise AudiotokError(f"batch_frames must be >= 1, got {batch_frames}")
    window = decoder.window_frames
    n = 0

    def flush(batch: list[tuple[str, np.ndarray, int | None]]) -> None:
        nonlocal n
        if not batch:
            return
        ids = ", ".join(u for u, _, _ in batch[:3]) + (", ..." if len(batch) > 3 else "")
        try:
            wavs = decoder.decode_batch([c for _, c, _ in batch])
        except (KeyboardInterrupt, MemoryError):
            raise
        except AudiotokError as e:
            raise AudiotokError(f"decoding {ids}: {e}") from None
        except Exception as e:  # noqa: BLE001 - the model's failure on these codes
            raise AudiotokError(
                f"decoding {ids}: the model failed ({type(e).__name__}: {e})"
            ) from e
        for (utt, _, samples), wav in zip(batch, wavs, strict=True):
            if samples is not None and decoder.trims_to_source:
                wav = wav[:samples]
            audio.write(str(dest(utt)), np.asarray(wav, dtype=np.float32), decoder.sample_rate)
            n += 1
        batch.clear()

    for chunk in _chunks(items, sort_window):
        prepared = [(utt, decoder.prepare(c), s) for utt, c, s in chunk]
        batch: list[tuple[str, np.ndarray, int | None]] = []
        for it in sorted(prepared, key=lambda it: it[1].shape[-1]):
            frames = it[1].shape[-1]
            if not decoder.batched or (window is not None and frames > window):
                flush([it])
                continue
            if batch and (len(batch) + 1) * frames > batch_frames:
                flush(batch)
            batch.append(it)
        flush(batch)
    return n


def decode_store(
    store: Any,
    decoder: Any,
    out: str | Path,
    *,
    ids: Iterable[str] | None = None,
    batch_frames: int = 6000,
    sort_window: int = 1000,
    **decoder_options: Any,
) -> int:
    """Decode a token store (:func:`audiotok.open_tokens`) into ``out/<id>.wav``.

    ``decoder``: a :class:`~audiotok.decoding.decoders.Decoder`, or a codec, Vocos or unit
    vocoder (wrapped by :func:`~audiotok.decoding.decoders.as_decoder`). The store's tokens
    are checked against the decoder first. ``ids`` restricts to those utterances; with one
    id, ``out`` may name the ``.wav`` file itself. ``decoder_options`` (speaker, style, dedup,
    batched, window_frames) apply when ``decoder`` is a unit vocoder. Returns the number of
    files written.
    """
    dec = as_decoder(decoder, **decoder_options)
    recipe = getattr(store, "recipe", None)
    dec.check_tokens(store.spec, recipe.to_dict() if recipe is not None else None)
    wanted = sorted(set(ids)) if ids is not None else None
    for utt in wanted or ():
        if utt not in store:
            raise AudiotokError(f"{store.dir} holds no utterance {utt!r}")
    out = Path(out)
    single = wanted is not None and len(wanted) == 1 and out.suffix.lower() == ".wav"
    rows = (store.row(u) for u in wanted) if wanted is not None else store.rows()
    sr = dec.sample_rate

    def items() -> Iterator[Item]:
        for r in rows:
            yield r["id"], np.asarray(r["codes"]), round(float(r["duration_s"]) * sr)

    return decode_items(
        items(),
        dec,
        (lambda _: out) if single else (lambda utt: output_path(out, utt)),
        batch_frames=batch_frames,
        sort_window=sort_window,
    )


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for it in items:
        chunk.append(it)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
