"""Decoding many utterances to wav files: token stores and unit files.

Utterances are taken ``sort_window`` at a time and sorted by length. On a GPU they are decoded
in padded batches of at most ``batch_frames`` frames (the generator masks padding, so each
equals its decode alone to float rounding). On the CPU they are decoded one at a time, each at
its own length: the generator is bound by its convolutions there, so batching saves nothing
and padding costs memory traffic (``benchmarks/vocoder_decode.py --force-batches`` times the
padded batches on the CPU).
Utterances longer than ``window_frames`` are decoded alone in windows with enough context on
both sides to cover the generator's receptive field, so memory is bounded by the window and
the result equals the whole-utterance decode to float rounding. ``dedup=True`` deduplicates the
units and expands them with predicted durations (output lengths follow the predictions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiotok import audio
from audiotok.vocoders.model import SpeakerArg, Vocoder
from audiotok.vocoders.resynth import dedup as dedup_units


def decode_long(
    vocoder: Vocoder,
    units: torch.Tensor,
    window_frames: int,
    speaker: SpeakerArg = None,
    style: Any = None,
) -> torch.Tensor:
    """One utterance's full-rate units [T'] -> wav [T' * hop], window by window."""
    ctx, hop, n = vocoder.context_frames, vocoder.hop_length, units.shape[-1]
    pieces = []
    for start in range(0, n, window_frames):
        a, b = max(0, start - ctx), min(n, start + window_frames + ctx)
        wav, _ = vocoder.decode(units[None, a:b], speaker=speaker, style=style)
        keep = min(window_frames, n - start)
        pieces.append(wav[0, (start - a) * hop : (start - a + keep) * hop])
    return torch.cat(pieces)


def decode_units(
    items: Iterable[tuple[str, np.ndarray]],
    vocoder: Vocoder,
    dest: Callable[[str], Path],
    *,
    batch_frames: int = 6000,
    speaker: SpeakerArg = None,
    style: Any = None,
    dedup: bool = False,
    window_frames: int | None = None,
    sort_window: int = 1000,
    batched: bool | None = None,
) -> int:
    """Decode ``(id, units [T'])`` items and write ``dest(id)`` wavs; returns the count.

    ``window_frames`` (default: 30 s of frames) is the longest utterance decoded in one piece;
    ``batch_frames`` bounds a padded batch; ``batched`` (default: on a GPU, not on the CPU)
    chooses padded batches or one utterance at a time.
    ``speaker``/``style``: one for all utterances (a name or an index).
    """
    window = window_frames or int(30 * vocoder.frame_rate)
    dev, n = vocoder.device, 0

    def write(utt: str, wav: torch.Tensor) -> None:
        nonlocal n
        audio.write(str(dest(utt)), wav.float().cpu().numpy(), vocoder.sample_rate)
        n += 1

    def flush(batch: list[tuple[str, np.ndarray]]) -> None:
        lengths = torch.tensor([len(u) for _, u in batch])
        units = torch.zeros(len(batch), int(lengths.max()), dtype=torch.long)
        for b, (_, u) in enumerate(batch):
            units[b, : len(u)] = torch.from_numpy(np.asarray(u, dtype=np.int64))
        wav, wav_lengths = vocoder.decode(units.to(dev), lengths, speaker, style=style)
        for b, (utt, _) in enumerate(batch):
            write(utt, wav[b, : int(wav_lengths[b])])

    one_by_one = (dev.type == "cpu") if batched is None else not batched
    for chunk in _chunks(_prepared(items, vocoder, dedup), sort_window):
        batch: list[tuple[str, np.ndarray]] = []
        for utt, u in sorted(chunk, key=lambda it: len(it[1])):
            if one_by_one and len(u) <= window:
                flush([(utt, u)])
                continue
            if len(u) > window:
                write(
                    utt, decode_long(vocoder, torch.from_numpy(u).to(dev), window, speaker, style)
                )
                continue
            if batch and (len(batch) + 1) * len(u) > batch_frames:
                flush(batch)
                batch = []
            batch.append((utt, u))
        if batch:
            flush(batch)
    return n


def _prepared(
    items: Iterable[tuple[str, np.ndarray]], vocoder: Vocoder, dedup: bool
) -> Iterator[tuple[str, np.ndarray]]:
    """Full-rate units per item: deduplicated and expanded by predicted durations if asked."""
    for utt, units in items:
        u = np.asarray(units, dtype=np.int64).reshape(-1)
        if dedup:
            d = torch.from_numpy(dedup_units(u)).to(vocoder.device)[None]
            lengths = torch.tensor([d.shape[1]], device=vocoder.device)
            with torch.inference_mode():
                vocoder._check_units(d, lengths)
                durations = vocoder.predict_durations(d, lengths)
            u = torch.repeat_interleave(d[0], durations[0]).cpu().numpy()
        yield utt, u


def decode_store(
    store: Any,
    vocoder: Vocoder,
    out_dir: str | Path,
    *,
    batch_frames: int = 6000,
    speaker: SpeakerArg = None,
    style: Any = None,
    dedup: bool = False,
    ids: Iterable[str] | None = None,
) -> int:
    """Decode a token store (``audiotok.open_tokens``) into ``out_dir/<id>.wav``.

    Checks first that the store holds the tokens the vocoder was trained on
    (:func:`audiotok.vocoders.config.check_tokens`); ``ids`` restricts to those utterances.
    Returns the number of files written.
    """
    from audiotok.vocoders.config import check_tokens

    recipe = getattr(store, "recipe", None)
    check_tokens(vocoder.config, store.spec, recipe.to_dict() if recipe is not None else None)
    out = Path(out_dir)
    wanted = set(ids) if ids is not None else None

    def items() -> Iterator[tuple[str, np.ndarray]]:
        if wanted is not None:
            for utt in sorted(wanted):
                yield utt, np.asarray(store.get(utt)).reshape(-1)
            return
        for utt, codes in store:
            yield utt, np.asarray(codes).reshape(-1)

    from audiotok.codecs.store_decode import output_path

    return decode_units(
        items(),
        vocoder,
        lambda utt: output_path(out, utt),
        batch_frames=batch_frames,
        speaker=speaker,
        style=style,
        dedup=dedup,
    )


def decode_unit_file(
    path: str | Path,
    vocoder: Vocoder,
    out_dir: str | Path,
    **options: Any,
) -> int:
    """``audiotok decode units.txt``: every line of a unit file to ``out_dir/<id>.wav``.
    Options as :func:`decode_units` (``batch_frames``, ``speaker``, ``style``, ``dedup``)."""
    from audiotok.codecs.store_decode import output_path
    from audiotok.vocoders.units_file import read_unit_file

    out = Path(out_dir)
    return decode_units(read_unit_file(path), vocoder, lambda u: output_path(out, u), **options)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for it in items:
        chunk.append(it)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
