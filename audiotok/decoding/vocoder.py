"""A unit vocoder (:class:`audiotok.vocoders.Vocoder`) as a :class:`~audiotok.decoding.Decoder`.

On a GPU utterances are decoded in padded batches (the generator masks padding, so each
equals its decode alone to float rounding). On the CPU they are decoded one at a time, each at
its own length: the generator is bound by its convolutions there, so batching saves nothing
and padding costs memory traffic (``benchmarks/vocoder_decode.py --force-batches`` times the
padded batches on the CPU). Utterances longer than ``window_frames`` (default 30 s of frames)
are decoded in windows (:func:`audiotok.vocoders.windows.decode_long`). ``dedup=True`` takes
the units as deduplicated (as unit LMs emit them) and expands them by predicted durations
(output lengths follow the predictions). ``speaker``/``style``: one for all utterances.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class VocoderDecoder:
    trims_to_source = False  # the output follows the units (and predicted durations)

    def __init__(
        self,
        vocoder: Any,
        *,
        speaker: Any = None,
        style: Any = None,
        dedup: bool = False,
        window_frames: int | None = None,
        batched: bool | None = None,
    ):
        self.vocoder = vocoder
        self.speaker, self.style, self.dedup = speaker, style, dedup
        self.sample_rate = int(vocoder.sample_rate)
        self.window_frames: int | None = window_frames or int(30 * vocoder.frame_rate)
        self.batched = (vocoder.device.type != "cpu") if batched is None else batched

    def check_tokens(self, spec: Any, recipe: dict[str, Any] | None) -> None:
        from audiotok.vocoders.config import check_tokens

        check_tokens(self.vocoder.config, spec, recipe)

    def prepare(self, codes: np.ndarray) -> np.ndarray:
        """Full-rate units ``[1, T']``: deduplicated and expanded by predicted durations if
        ``dedup``."""
        u = np.asarray(codes, dtype=np.int64).reshape(-1)
        if self.dedup:
            import torch

            from audiotok.vocoders.resynth import dedup

            voc = self.vocoder
            d = torch.from_numpy(dedup(u)).to(voc.device)[None]
            lengths = torch.tensor([d.shape[1]], device=voc.device)
            with torch.inference_mode():
                voc._check_units(d, lengths)
                durations = voc.predict_durations(d, lengths)
            u = torch.repeat_interleave(d[0], durations[0]).cpu().numpy()
        return u[None]

    def decode_batch(self, codes: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        voc, dev = self.vocoder, self.vocoder.device
        units = [np.asarray(c, dtype=np.int64).reshape(-1) for c in codes]
        with torch.inference_mode():
            if len(units) == 1 and self.window_frames and len(units[0]) > self.window_frames:
                from audiotok.vocoders.windows import decode_long

                one = torch.from_numpy(units[0]).to(dev)
                long = decode_long(voc, one, self.window_frames, self.speaker, self.style)
                return [long.float().cpu().numpy()]
            lengths = torch.tensor([len(u) for u in units])
            x = torch.zeros(len(units), int(lengths.max()), dtype=torch.long)
            for b, u in enumerate(units):
                x[b, : len(u)] = torch.from_numpy(u)
            wav, wav_lengths = voc.decode(x.to(dev), lengths, self.speaker, style=self.style)
        return [wav[b, : int(wav_lengths[b])].float().cpu().numpy() for b in range(len(units))]
