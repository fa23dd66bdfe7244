"""EnCodec 48 kHz: stereo, non-causal, normalised per 1 s segment.

Facts from encodec/model.py ``encodec_model_48khz``: 48 kHz, 2 channels, non-causal SEANet
with time-group norm, ``audio_normalize=True``, ``segment=1.0`` s with 1 % overlap, hop 320
(150 Hz), up to 16 codebooks; bandwidths 3/6/12/24 kbps select 2/4/8/16 codebooks. Each
segment is divided by its RMS (``scale``) before encoding and the decoder output multiplied
by it; upstream stores that float next to the codes.

audiotok's choices (documented in docs/architecture.md):

- mono input is duplicated to both channels; decoded stereo is averaged back to mono;
- segments are 1 s with **no** overlap (upstream: stride 0.99 s, overlap-add on decode), so
  frame ``j`` covers samples ``[320 j, 320 (j + 1))`` like every other codec and codes are
  addressable by time. For a file of at most 1 s the codes equal upstream's. Decoding joins
  segments end to end (no cross-fade);
- the per-segment scale is a token: the **last row** of the codes holds
  ``round((20 log10(scale) + 100) / 0.1)`` clipped to 0..1023 (0.1 dB steps from
  -100 dBFS), repeated on every frame of its segment. K = codebooks + 1, and the spec's
  bitrate counts that row at the frame rate, as a language model would predict it.

Segments are independent, so batches (segments grouped by length) and long files (segments
taken a few at a time) give exactly the codes of each file alone, in bounded memory.
"""

from __future__ import annotations

import math
from typing import Any

from audiotok import __version__
from audiotok.codecs.base import Codec
from audiotok.spec import TokenSpec

SCALE_DB_MIN = -100.0
SCALE_DB_STEP = 0.1
SEGMENTS_PER_CALL = 16  # memory bound: this many 1 s segments go through the model at once


def scale_to_code(scale: Any) -> Any:
    import torch

    db = 20 * torch.log10(scale.clamp_min(1e-12))
    return ((db - SCALE_DB_MIN) / SCALE_DB_STEP).round().clamp(0, 1023).long()


def code_to_scale(code: Any) -> Any:
    return 10 ** ((code.float() * SCALE_DB_STEP + SCALE_DB_MIN) / 20)


class Encodec48Codec(Codec):
    # Every batch is cut into 1 s segments grouped by length, so no segment is padded: the
    # codes of a file do not depend on its batch (tests/codecs/test_batch_exact.py).
    padded_exact_on = ("cpu", "cuda")

    def __init__(self, model: Any, name: str, n_codebooks: int, weights_sha256: str):
        self.model = model
        self.hop_length = int(model.encoder.hop_length)
        self.segment = int(model.segment * model.sample_rate)
        self.seg_frames = self.segment // self.hop_length
        self.n_q = n_codebooks
        self.long_window_seconds = 30.0
        self.decode_window_frames = SEGMENTS_PER_CALL * self.seg_frames
        self.spec = TokenSpec(
            kind="acoustic",
            name=name,
            sample_rate=int(model.sample_rate),
            frame_rate=float(model.frame_rate),
            num_codebooks=n_codebooks + 1,
            codebook_size=int(model.quantizer.bins),
            weights_sha256=weights_sha256,
            params={
                "bandwidth_kbps": n_codebooks * model.frame_rate * 10 / 1000,
                "scale_row": "last row: per-1 s segment RMS, 0.1 dB steps from -100 dBFS",
            },
            version=__version__,
        )

    def to(self, device: str) -> Encodec48Codec:
        self.device = device
        self.model.to(device)
        return self

    def _segments(self, lengths) -> list[tuple[int, int, int]]:
        """(item, start sample, length) of every segment of every item."""
        out = []
        for b, n in enumerate(int(x) for x in lengths):
            out += [(b, s, min(self.segment, n - s)) for s in range(0, n, self.segment)]
        return out

    def _groups(self, segs):
        """Segments of equal length, at most SEGMENTS_PER_CALL per group."""
        by_len: dict[int, list] = {}
        for seg in segs:
            by_len.setdefault(seg[-1], []).append(seg)
        for group in by_len.values():
            for i in range(0, len(group), SEGMENTS_PER_CALL):
                yield group[i : i + SEGMENTS_PER_CALL]

    def _encode_padded(self, wav, lengths):
        import torch

        from audiotok.codecs.nearest import encodec_quantize

        if wav.dim() == 2:
            wav = wav.unsqueeze(1)
        code_lengths = torch.tensor([self.num_frames(int(n)) for n in lengths])
        codes = torch.zeros(
            wav.shape[0], self.n_q + 1, int(code_lengths.max()), dtype=torch.long, device=wav.device
        )
        for group in self._groups(self._segments(lengths)):
            n = group[0][-1]
            x = torch.stack([wav[b, 0, s : s + n] for b, s, _ in group]).unsqueeze(1)
            x = x.expand(-1, self.model.channels, -1)
            scale = x.mean(dim=1, keepdim=True).pow(2).mean(dim=2, keepdim=True).sqrt() + 1e-8
            with torch.inference_mode():
                c = encodec_quantize(self.model, self.model.encoder(x / scale), self.n_q)
            sc = scale_to_code(scale.view(-1))
            for i, (b, s, _) in enumerate(group):
                f0 = s // self.hop_length
                codes[b, : self.n_q, f0 : f0 + c.shape[-1]] = c[i]
                codes[b, self.n_q, f0 : f0 + c.shape[-1]] = sc[i]
        return codes, code_lengths

    def encode_long(self, wav):
        import torch

        return self._encode_padded(wav, torch.tensor([wav.shape[-1]]))

    def _decode_padded(self, codes, code_lengths):
        import torch

        frames = [int(n) for n in code_lengths]
        wav = torch.zeros(codes.shape[0], 1, max(frames) * self.hop_length, device=codes.device)
        segs = self._segments_frames(frames)  # (item, first frame, frames)
        for group in self._groups(segs):
            c = torch.stack([codes[b, :, s : s + n] for b, s, n in group])
            with torch.inference_mode():
                emb = self.model.quantizer.decode(c[:, : self.n_q])
                out = self.model.decoder(emb).mean(dim=1)
            out = out * code_to_scale(c[:, self.n_q, 0]).view(-1, 1)
            for i, (b, s, _) in enumerate(group):
                wav[b, 0, s * self.hop_length : s * self.hop_length + out.shape[-1]] = out[i]
        return wav, code_lengths * self.hop_length

    def _segments_frames(self, frames: list[int]) -> list[tuple[int, int, int]]:
        f = self.seg_frames
        return [(b, s, min(f, n - s)) for b, n in enumerate(frames) for s in range(0, n, f)]

    def decode_long(self, codes):
        import torch

        wav, _ = self.decode_batch(codes, torch.tensor([codes.shape[-1]]))
        return wav

    def num_frames(self, num_samples: int) -> int:
        return math.ceil(num_samples / self.hop_length)
