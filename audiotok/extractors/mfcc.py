"""MFCC features as HuBERT's first-iteration targets: 13 MFCCs + deltas + delta-deltas, 100 Hz.

Settings follow fairseq's ``examples/hubert/simple_kmeans/dump_mfcc_feature.py`` (Kaldi-style
MFCC as torchaudio.compliance.kaldi computes it with ``use_energy=False``, then two rounds of
``compute_deltas``; both in plain torch in :mod:`audiotok.extractors.kaldi`): 25 ms windows
every 10 ms at 16 kHz, no padding at the edges (``snip_edges``), so frame ``i`` covers
samples ``[160 i, 160 i + 400)`` and ``num_frames = floor((T - 400) / 160) + 1``. Every frame
sees only its own window and the deltas are taken per utterance over its valid frames, so
batching cannot change a feature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audiotok.extractors.base import FeatureExtractor

if TYPE_CHECKING:
    import torch

WIN = 400
HOP = 160


class MFCCExtractor(FeatureExtractor):
    name = "mfcc"
    sample_rate = 16000
    frame_rate = 100.0
    dim = 39
    layer = None
    weights_sha256 = ""
    batch_exact = True

    def num_frames(self, num_samples: int) -> int:
        return 0 if num_samples < WIN else (num_samples - WIN) // HOP + 1

    def recipe_options(self) -> dict[str, object]:
        return {}

    def __call__(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        from audiotok.extractors import kaldi

        if wav.dim() == 3:
            wav = wav[:, 0]
        frame_lengths = self.frame_lengths(lengths)
        out = wav.new_zeros(
            wav.shape[0], int(frame_lengths.max()) if len(frame_lengths) else 0, self.dim
        )
        for b in range(wav.shape[0]):
            n = int(frame_lengths[b])
            if n == 0:
                continue
            x = wav[b : b + 1, : int(lengths[b])].float()
            m = kaldi.mfcc(x, sample_rate=self.sample_rate).T  # [13, n]
            d = kaldi.deltas(m)
            dd = kaldi.deltas(d)
            out[b, :n] = torch.cat([m, d, dd], dim=0).T.to(out.dtype)
        return out, frame_lengths


def build(entry=None, **options: object) -> MFCCExtractor:
    """MFCCs have no layers, weights or other options: any option is a mistake to report."""
    if options:
        from audiotok.errors import AudiotokError

        raise AudiotokError(
            f"mfcc features take no options (got {', '.join(sorted(options))}); "
            "drop --layer/--weights/--dtype for --model mfcc"
        )
    return MFCCExtractor()
