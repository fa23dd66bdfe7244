"""Unit vocoders decoding as units arrive, with a stated lookahead.

A unit HiFi-GAN is not causal: an output sample depends on up to ``R`` frames of units on
either side (``R`` = :func:`audiotok.vocoders.generator.receptive_radius_frames`, a bound).
:class:`VocoderStream` emits the audio of frame ``j`` once frame ``j + lookahead`` has arrived,
decoding each step's new frames with ``R`` frames of left context (dropped from the output)
and the ``lookahead`` frames on the right. With ``lookahead >= R`` each emitted frame equals
the offline decode to float rounding; with less, the last frames of a step are computed
against zero padding where offline sees the next units: the difference is measured by
``benchmarks/streaming.py`` and stated in ``docs/streaming.md``. ``flush()`` decodes the last
frames against the real end, as offline does. Algorithmic latency: ``(1 + lookahead)``
frames. Each step recomputes ``R + new + lookahead`` frames, so pushing a few frames at a time
costs more than decoding once.
"""

from __future__ import annotations

from typing import Any

import torch

from audiotok.errors import AudiotokError


class VocoderStream:
    def __init__(self, vocoder: Any, lookahead: int | None = None, speaker: Any = None):
        # vocoder: an audiotok.vocoders.model.Vocoder, which imports this module (streaming_decoder)
        self.vocoder = vocoder
        self.context = int(vocoder.context_frames)
        self.lookahead = self.context if lookahead is None else int(lookahead)
        if self.lookahead < 0:
            raise AudiotokError("lookahead must be >= 0 frames")
        self.speaker = speaker
        self.hop = vocoder.hop_length
        self._reset()

    def _reset(self) -> None:
        self.units = torch.zeros(0, dtype=torch.long)  # kept: context + not yet emitted
        self.offset = 0  # index (in the stream) of self.units[0]
        self.emitted = 0  # frames whose audio is out

    @property
    def latency_ms(self) -> float:
        return 1000.0 * (1 + self.lookahead) / self.vocoder.frame_rate

    def _decode(self, end: int, upto: int) -> torch.Tensor:
        """Audio of frames [emitted, end) from the kept units up to frame ``upto``."""
        a = max(self.offset, self.emitted - self.context)
        window = self.units[a - self.offset : upto - self.offset]
        wav, _ = self.vocoder.decode(window[None], speaker=self.speaker)
        out = wav[0, (self.emitted - a) * self.hop : (end - a) * self.hop].cpu()
        self.emitted = end
        keep = max(self.offset, self.emitted - self.context)
        self.units = self.units[keep - self.offset :]
        self.offset = keep
        return out

    def push(self, units: Any) -> torch.Tensor:
        """Units [n] (full rate, not deduplicated) -> the audio of the frames now decodable."""
        u = torch.as_tensor(units, dtype=torch.long).reshape(-1)
        self.units = torch.cat([self.units, u])
        received = self.offset + len(self.units)
        end = received - self.lookahead
        if end <= self.emitted:
            return torch.zeros(0)
        return self._decode(end, received)

    def flush(self) -> torch.Tensor:
        received = self.offset + len(self.units)
        out = self._decode(received, received) if received > self.emitted else torch.zeros(0)
        self._reset()
        return out
