"""The Codec contract: RVQ codecs normalised to codes LongTensor[B, K, T'].

A codec is a Tokenizer (kind "acoustic", or "hybrid" when some codebooks are distilled
from S3M features: ``semantic_codebooks`` lists them) that can also decode. Frame ``j`` of
a codec covers samples ``[j * hop, (j + 1) * hop)``; :func:`frame_at` maps a time to it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from audiotok.errors import AudiotokError
from audiotok.tokenizer import Tokenizer

if TYPE_CHECKING:
    import torch


def frame_at(t: float, frame_rate: float) -> int:
    """The frame holding time ``t`` (seconds): ``floor(t * frame_rate)``.

    A tolerance of 1e-9 frames absorbs binary rounding (``0.04 * 75`` is 2.9999999999999996
    in floating point, and 0.04 s is the start of frame 3).
    """
    if t < 0:
        raise ValueError(f"time must be >= 0, got {t}")
    return math.floor(t * frame_rate + 1e-9)


def frame_slice(start: float, end: float, frame_rate: float) -> slice:
    """Frames overlapping ``[start, end)`` seconds: ``codes[..., frame_slice(1.0, 2.5, fr)]``."""
    return slice(frame_at(start, frame_rate), math.ceil(end * frame_rate - 1e-9))


BATCH_METHODS = ("encode_batch", "decode_batch")


def item_by_item_on_cpu(method: Callable[..., Any]) -> Callable[..., Any]:
    """On the CPU, run a codec's batch method one item at a time, each at its own length.

    Codes must not depend on how the work was cut. On the CPU a padded batch can give a few
    codes that differ from the files alone, because kernels are chosen by tensor shape and
    round differently (about 1e-7) where an RVQ stage has a near tie. Item by item, each file
    goes through exactly the computation it gets alone; on the CPU that is not slower than
    the padded batch either (``benchmarks/codec_throughput.py`` times both, with the share of
    equal codes; figures in docs/performance.md). On a GPU the padded batch runs as one, made
    to compute each item as if alone by the padding hooks of ``codecs/padding.py``.
    """

    @functools.wraps(method)
    def wrapper(self: Codec, *args: Any, **kwargs: Any) -> Any:
        on_cpu = str(self.device).startswith("cpu")
        if on_cpu and not kwargs and len(args) == 2 and args[0].shape[0] > 1:
            return _item_by_item(method, self, *args)
        return method(self, *args, **kwargs)

    return wrapper


def _item_by_item(method: Callable[..., Any], self: Codec, x: Any, lengths: Any) -> Any:
    import torch
    import torch.nn.functional as F

    outs = [
        method(self, x[i : i + 1, ..., : int(n)], lengths[i : i + 1]) for i, n in enumerate(lengths)
    ]
    size = max(o[0].shape[-1] for o in outs)
    y = torch.cat([F.pad(o[0], (0, size - o[0].shape[-1])) for o in outs])
    return y, torch.cat([torch.as_tensor(o[1]).reshape(1) for o in outs])


class Codec(Tokenizer):
    """Subclasses' batch methods are wrapped by :func:`item_by_item_on_cpu`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in BATCH_METHODS:
            if name in cls.__dict__:
                setattr(cls, name, item_by_item_on_cpu(cls.__dict__[name]))

    semantic_codebooks: tuple[int, ...] = ()
    hop_length: int = 0  # samples per frame
    # Longer code sequences are decoded window by window (memory bounded by the window).
    decode_window_frames: int | None = None

    def to(self, device: str) -> Codec:
        super().to(device)
        return self

    def recipe_options(self) -> dict[str, Any]:
        opts = super().recipe_options()
        n_q = getattr(self, "n_q", None)
        return {**opts, "n_codebooks": int(n_q)} if n_q is not None else opts

    def num_frames(self, num_samples: int) -> int:
        return math.ceil(num_samples / self.hop_length)

    def frame_at(self, t: float) -> int:
        return frame_at(t, self.frame_rate)

    def decode_long(self, codes: torch.Tensor) -> torch.Tensor:
        """codes[1, K, T'] of one long file -> wav[1, 1, T' * hop]; overridden by codecs
        that decode in windows."""
        import torch

        wav, lengths = self.decode_batch(codes, torch.tensor([codes.shape[-1]]))
        return wav[..., : int(lengths[0])]

    def decode(self, codes) -> torch.Tensor:
        """codes [K, T'] -> mono waveform [T]; long sequences go through ``decode_long``."""
        import torch

        c = torch.as_tensor(codes, dtype=torch.long)
        if c.dim() == 1:
            c = c.unsqueeze(0)
        if self.decode_window_frames is None or c.shape[-1] <= self.decode_window_frames:
            return super().decode(c)
        with torch.inference_mode():
            wav = self.decode_long(c.unsqueeze(0).to(self.device))
        return wav[0, 0].cpu()


def choose_n_codebooks(
    max_codebooks: int,
    frame_rate: float,
    codebook_size: int,
    n_codebooks: int | None,
    bandwidth: float | None,
    bandwidths: tuple[float, ...] = (),
) -> int:
    """K from --n-codebooks or --bandwidth (kbps); the bitrate is K * frame_rate * log2(size)."""
    bits_per_codebook = frame_rate * math.log2(codebook_size)
    if n_codebooks is not None:
        if not 1 <= n_codebooks <= max_codebooks:
            raise AudiotokError(f"--n-codebooks must be between 1 and {max_codebooks}")
        return n_codebooks
    if bandwidth is None:
        return max_codebooks
    if bandwidths and bandwidth not in bandwidths:
        raise AudiotokError(
            f"--bandwidth {bandwidth:g} is not one this model was trained for: "
            f"{', '.join(f'{b:g}' for b in bandwidths)} kbps"
        )
    k = int(round(bandwidth * 1000 / bits_per_codebook))
    if not 1 <= k <= max_codebooks:
        raise AudiotokError(f"--bandwidth {bandwidth:g} kbps is outside this model's range")
    return k
