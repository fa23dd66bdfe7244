"""The :class:`Decoder` protocol of :func:`audiotok.decoding.decode_store`, and codecs' adapter.

A decoder takes a list of per-utterance codes (numpy ``[K, T']``; units are ``[1, T']``) and
returns one mono float32 waveform per utterance at ``sample_rate``. What the loop needs to
know of it:

- ``window_frames``: utterances longer than this are handed over alone (the decoder decodes
  them in windows, in bounded memory); ``None``: no limit;
- ``batched``: padded batches are worth making (each row gives what it gives alone); ``False``:
  one utterance per call (a unit vocoder on the CPU, where padding only costs);
- ``trims_to_source``: the output is cut to the source's duration (codecs pad the input to
  whole frames; vocoders' output follows the units and predicted durations instead);
- ``prepare(codes)``: codes as they will be decoded (a vocoder expands deduplicated units by
  predicted durations), before the loop sorts by length;
- ``check_tokens(spec, recipe)``: refuse a store whose tokens are not the decoder's.

:class:`CodecDecoder` adapts any object with a codec's decoding interface
(:class:`audiotok.codecs.base.Codec`: ``decode_batch(codes [B, K, T'], lengths)`` ->
``(wav [B, 1, T], lengths)``, ``decode(codes [K, T'])`` windowed, ``decode_window_frames``,
``num_codebooks``, ``device``), which EnCodec, DAC, Mimi, SpeechTokenizer, the hybrid codecs
and :class:`audiotok.codecs.vocos.VocosDecoder` have. Unit vocoders have
:class:`audiotok.decoding.vocoder.VocoderDecoder`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from audiotok.errors import AudiotokError


@runtime_checkable
class Decoder(Protocol):
    sample_rate: int
    window_frames: int | None
    batched: bool
    trims_to_source: bool

    def prepare(self, codes: np.ndarray) -> np.ndarray: ...

    def check_tokens(self, spec: Any, recipe: dict[str, Any] | None) -> None: ...

    def decode_batch(self, codes: Sequence[np.ndarray]) -> list[np.ndarray]: ...


def padded(codes: Sequence[np.ndarray]) -> tuple[Any, Any]:
    """(LongTensor [B, K, T_max] zero-padded, lengths [B]) of ``[K, T']`` arrays."""
    import torch

    lengths = torch.tensor([c.shape[-1] for c in codes])
    out = torch.zeros(len(codes), codes[0].shape[0], int(lengths.max()), dtype=torch.long)
    for b, c in enumerate(codes):
        out[b, :, : c.shape[-1]] = torch.from_numpy(np.asarray(c, dtype=np.int64))
    return out, lengths


class CodecDecoder:
    """A codec (or Vocos on EnCodec codes) as a :class:`Decoder`."""

    batched = True
    trims_to_source = True

    def __init__(self, codec: Any):
        self.codec = codec
        self.sample_rate = int(codec.sample_rate)
        self.window_frames: int | None = codec.decode_window_frames

    def prepare(self, codes: np.ndarray) -> np.ndarray:
        return np.asarray(codes, dtype=np.int64).reshape(self.codec.num_codebooks, -1)

    def check_tokens(self, spec: Any, recipe: dict[str, Any] | None) -> None:
        k = self.codec.num_codebooks
        if spec.num_codebooks != k:
            raise AudiotokError(
                f"the store holds {spec.num_codebooks} codebooks of {spec.name}; "
                f"the decoder takes {k}"
            )

    def decode_batch(self, codes: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        long = self.window_frames is not None and codes[0].shape[-1] > self.window_frames
        with torch.inference_mode():
            if len(codes) == 1 and long:
                return [self.codec.decode(torch.from_numpy(codes[0])).float().cpu().numpy()]
            x, lengths = padded(codes)
            wav, wav_lengths = self.codec.decode_batch(x.to(self.codec.device), lengths)
        return [wav[b, 0, : int(wav_lengths[b])].float().cpu().numpy() for b in range(len(codes))]


def as_decoder(obj: Any, **options: Any) -> Decoder:
    """``obj`` as a :class:`Decoder`: a decoder as it is, a unit vocoder through
    :class:`~audiotok.decoding.vocoder.VocoderDecoder` (``options``: speaker, style, dedup,
    batched, window_frames), anything with a codec's ``decode_batch`` through
    :class:`CodecDecoder`."""
    if isinstance(obj, Decoder):
        if options:
            raise AudiotokError(f"options {sorted(options)} apply when wrapping a vocoder")
        return obj
    if hasattr(obj, "predict_durations"):  # audiotok.vocoders.Vocoder
        from audiotok.decoding.vocoder import VocoderDecoder

        return VocoderDecoder(obj, **options)
    if options:
        raise AudiotokError(f"options {sorted(options)} apply to unit vocoders, not codecs")
    if not hasattr(obj, "decode_batch"):
        raise AudiotokError(f"{type(obj).__name__} cannot decode tokens")
    return CodecDecoder(obj)
