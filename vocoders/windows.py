"""Long utterances through a unit vocoder in windows, in bounded memory.

Each window is decoded with enough context on both sides to cover the generator's receptive
field (``Vocoder.context_frames``), so the result equals the whole-utterance decode to float
rounding; the streaming decoder (:mod:`audiotok.streaming.vocoder`) uses the same bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# the vocoder is typed Any: importing audiotok.vocoders.model here (which imports the
# streaming decoder, which imports this module) would close an import cycle
Vocoder = Any
SpeakerArg = Any


def decode_long(
    vocoder: Vocoder,
    units: torch.Tensor,
    window_frames: int,
    speaker: SpeakerArg = None,
    style: Any = None,
) -> torch.Tensor:
    """One utterance's full-rate units [T'] -> wav [T' * hop], window by window."""
    import torch

    ctx, hop, n = vocoder.context_frames, vocoder.hop_length, units.shape[-1]
    pieces = []
    for start in range(0, n, window_frames):
        a, b = max(0, start - ctx), min(n, start + window_frames + ctx)
        wav, _ = vocoder.decode(units[None, a:b], speaker=speaker, style=style)
        keep = min(window_frames, n - start)
        pieces.append(wav[0, (start - a) * hop : (start - a + keep) * hop])
    return torch.cat(pieces)
