"""The Codec contract: RVQ codecs normalised to codes LongTensor[B, K, T'].

A codec is a Tokenizer (kind "acoustic", or "hybrid" when some codebooks are distilled
from S3M features: ``semantic_codebooks`` lists them) that can also decode. Frame ``j`` of
a codec covers samples ``[j * hop, (j + 1) * hop)``; :func:`frame_at` maps a time to it.
"""

from __future__ import annotations

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


def device_type(device: Any) -> str:
    """``"cpu"``, ``"cuda"``, ... of a device string or ``torch.device`` (``"cuda:1"`` -> cuda)."""
    return str(device).split(":", 1)[0]


def length_groups(lengths: Any) -> list[list[int]]:
    """Indices of the items of each distinct length, shortest first."""
    by_len: dict[int, list[int]] = {}
    for b, n in enumerate(int(n) for n in lengths):
        by_len.setdefault(n, []).append(b)
    return [by_len[n] for n in sorted(by_len)]


def _in_groups(
    hook: Callable[[Any, Any], Any], x: Any, lengths: Any, groups: list[list[int]]
) -> tuple[Any, Any]:
    """``hook`` once per group of items of one length (each group cut to its length), the
    results put back in the order of the batch and zero-padded to the longest."""
    import torch

    lengths = torch.as_tensor(lengths)
    outs: dict[int, Any] = {}
    out_lengths: dict[int, int] = {}
    for idx in groups:
        n = int(lengths[idx[0]])
        y, yl = hook(x[idx, ..., :n], lengths[idx])
        for j, b in enumerate(idx):
            outs[b] = y[j]
            out_lengths[b] = int(yl[j])
    size = max(o.shape[-1] for o in outs.values())
    first = outs[0]
    y = first.new_zeros((len(outs), *first.shape[:-1], size))
    for b, o in outs.items():
        y[b, ..., : o.shape[-1]] = o
    return y, torch.tensor([out_lengths[b] for b in range(len(outs))])


class Codec(Tokenizer):
    """An RVQ codec. Subclasses implement two hooks, each over ONE padded batch:

    - ``_encode_padded(wav[B, 1, T], lengths[B]) -> (codes[B, K, T'], code_lengths[B])``
    - ``_decode_padded(codes[B, K, T'], code_lengths[B]) -> (wav[B, 1, T], lengths[B])``

    Items past their length are zero padding. The public ``encode_batch`` /
    ``decode_batch`` call a hook once when the padded path is exact on this device
    (``padded_exact_on``), and otherwise once per group of equal lengths (or per item, off
    ``equal_lengths_exact_on``), so they never return codes a file would not get alone.
    Benchmarks and tests reach the padded path by calling the hooks themselves.

    ``padded_exact_on`` lists the device types (``"cpu"``, ``"cuda"``) on which one padded
    batch of different lengths gives every file its codes alone, bit for bit; it is what
    ``batch_exact`` reports, and ``tests/codecs/test_batch_exact.py`` measures it for every
    backend on the device the suite runs on. Leave it empty unless measured.
    """

    padded_exact_on: tuple[str, ...] = ()
    # Device types where a batch of files of ONE length (no padding) gives each file its codes
    # alone. Batched kernels may still round differently from a batch of one (a small LSTM on
    # the CPU flipped codes at near ties: tests/codecs/test_batch_exact.py); elsewhere
    # ``encode_batch`` runs such files one at a time.
    equal_lengths_exact_on: tuple[str, ...] = ("cpu", "cuda")

    @property
    def batch_exact(self) -> bool:  # type: ignore[override]
        """Whether a padded batch of different lengths runs as one batch on this device with
        each file's codes alone (else the engine batches equal lengths)."""
        return device_type(self.device) in self.padded_exact_on

    def _encode_padded(self, wav: torch.Tensor, lengths: torch.Tensor) -> tuple[Any, Any]:
        raise NotImplementedError

    def batch_windows(self) -> tuple[int, int] | None:
        """``(window, context)`` in samples, multiples of ``hop_length``, for models whose
        codes have a finite context and whose file alone is that file zero-padded to whole
        frames (DAC): the engine then cuts files into windows of ONE length,
        ``window + 2 * context``, batches the windows of many files, keeps the codes of each
        window's ``window`` middle samples and stitches them (``pipeline/batch.py``; the cuts:
        :func:`audiotok.codecs.windows.equal_windows`). None (the default): no such windows
        (an LSTM sees the whole file), and files of different lengths run apart."""
        return None

    def _decode_padded(self, codes: torch.Tensor, code_lengths: torch.Tensor) -> tuple[Any, Any]:
        return super().decode_batch(codes, code_lengths)  # the "cannot decode" error

    @property
    def equal_lengths_exact(self) -> bool:
        """Whether files of one length batch together exactly on this device."""
        return device_type(self.device) in self.equal_lengths_exact_on

    def _batch_groups(self, lengths: Any) -> list[list[int]]:
        """How ``encode_batch`` cuts a batch: all at once, per length, or per item."""
        if self.batch_exact or (len(lengths) == 1):
            return [list(range(len(lengths)))]
        if self.equal_lengths_exact:
            return length_groups(lengths)
        return [[b] for b in range(len(lengths))]

    def encode_batch(self, wav, lengths):
        if wav.dim() == 2:
            wav = wav.unsqueeze(1)
        groups = self._batch_groups(lengths)
        if len(groups) == 1:
            return self._encode_padded(wav, lengths)
        return _in_groups(self._encode_padded, wav, lengths, groups)

    def decode_batch(self, codes, code_lengths):
        """Audio equals each item's audio alone to float rounding on every path; on the CPU
        (where a padded batch is not faster) items of different lengths decode apart."""
        if device_type(self.device) != "cpu" or len({int(n) for n in code_lengths}) <= 1:
            return self._decode_padded(codes, code_lengths)
        return _in_groups(self._decode_padded, codes, code_lengths, length_groups(code_lengths))

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
