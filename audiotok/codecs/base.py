"""The Codec contract: RVQ codecs normalised to codes LongTensor[B, K, T'].

A codec is a Tokenizer (kind "acoustic", or "hybrid" when some codebooks are distilled
from S3M features: ``semantic_codebooks`` lists them) that can also decode.
"""

from __future__ import annotations

import math

from audiotok.errors import AudiotokError
from audiotok.tokenizer import Tokenizer


class Codec(Tokenizer):
    semantic_codebooks: tuple[int, ...] = ()
    hop_length: int = 0  # samples per frame

    def num_frames(self, num_samples: int) -> int:
        return math.ceil(num_samples / self.hop_length)


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
