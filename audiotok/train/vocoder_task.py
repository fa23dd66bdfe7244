"""The unit-vocoder GAN task for :class:`audiotok.train.engine.GanTrainer`.

Generator losses: HiFi-GAN's mel loss (weight 45, jik876/hifi-gan ``train.py``), here the
multi-resolution form of :mod:`audiotok.train.mel`, and the duration loss of
speech-resynthesis' ``DurationCodeGenerator`` (MSE of predicted vs ``log(d + 1)`` over the
segment's runs without the two edge runs; weight 1.0, ``dur_prediction_weight`` of its
``hubert100_dw1.0.json``), computed on the same segments' units, so the predictor trains
jointly with the vocoder. Held-out evaluation decodes whole utterances and reports the mel
distance of ``audiotok.metrics.signal.mel_distance`` (the ``eval recon`` metric) and the
duration loss on the utterances' full run sequences.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from audiotok.train.corpus import CorpusIndex
from audiotok.train.mel import MultiResolutionMelLoss
from audiotok.train.norms import folded_state_dict
from audiotok.train.segments import SegmentBatches, SegmentDataset
from audiotok.vocoders.duration import segment_runs
from audiotok.vocoders.model import Vocoder


def duration_loss(vocoder: Vocoder, units: torch.Tensor, trim_edges: bool = True) -> torch.Tensor:
    """MSE between predicted and true log(d + 1) over the runs of ``units`` [B, T]."""
    assert vocoder.duration is not None
    values, counts, mask = segment_runs(units, trim_edges)
    pred = vocoder.duration(vocoder.unit_embed(values), mask)
    if not bool(mask.any()):
        return pred.sum() * 0.0
    target = torch.log(counts.float() + 1.0)
    return F.mse_loss(pred.float()[mask], target[mask])


class VocoderTrainModule(nn.Module):
    """What DDP wraps: one forward gives the waveform and the duration loss."""

    def __init__(self, vocoder: Vocoder):
        super().__init__()
        self.vocoder = vocoder

    def forward(
        self, units: torch.Tensor, speaker: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        wav = self.vocoder(units, None, speaker)
        dur = duration_loss(self.vocoder, units) if self.vocoder.duration is not None else None
        return wav, dur


class VocoderTask(SegmentBatches):
    def __init__(
        self,
        vocoder: Vocoder,
        discriminator: nn.Module,
        index: CorpusIndex,
        train_items: list[int],
        valid_items: list[int],
        out_dir: Path,
        *,
        speaker_of: np.ndarray,
        segment_frames: int,
        batch_size: int,
        seed: int,
        num_workers: int = 0,
        mel_weight: float = 45.0,
        dur_weight: float = 1.0,
        eval_max_frames: int = 1000,
    ):
        self.generator: nn.Module = VocoderTrainModule(vocoder)
        self.discriminator: nn.Module = discriminator
        self.index, self.valid_items, self.out = index, valid_items, out_dir
        self.has_speakers = vocoder.speaker_embed is not None
        self.speaker_of = speaker_of
        self.dataset = SegmentDataset(
            index, train_items, segment_frames, seed, name="units",
            speaker_of=speaker_of if self.has_speakers else None,
        )  # fmt: skip
        self.batch_size, self.seed, self.num_workers = batch_size, seed, num_workers
        self.mel_weight, self.dur_weight = mel_weight, dur_weight
        self.eval_max_frames = eval_max_frames
        self.mel = MultiResolutionMelLoss(vocoder.sample_rate)

    def generator_step(
        self, generator: nn.Module, batch: dict[str, torch.Tensor], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        units = batch["units"].to(device, non_blocking=True)
        real = batch["audio"].to(device, non_blocking=True)
        speaker = batch["speaker"].to(device) if self.has_speakers else None
        fake, dur = generator(units, speaker)
        self.mel.to(device)
        losses = {"mel": self.mel_weight * self.mel(fake, real)}
        if dur is not None:
            losses["dur"] = self.dur_weight * dur
        return fake, real, losses

    @torch.no_grad()
    def evaluate(self, generator: nn.Module, step: int) -> dict[str, float]:
        from audiotok.metrics.signal import mel_distance

        voc: Vocoder = generator.vocoder  # type: ignore[assignment]
        voc.eval()
        maps = (self.index.audio_memmap(), self.index.frames_memmap())
        dists, dur_losses = [], []
        for i in self.valid_items:
            pcm, all_units = self.index.file(i, *maps)
            units = all_units[: self.eval_max_frames].long()
            ref = pcm[: len(units) * self.index.hop].float().numpy() / 32768.0
            spk = int(self.speaker_of[i]) if self.has_speakers else None
            wav, _ = voc.decode(units.to(voc.device), speaker=spk)
            dists.append(mel_distance(ref, wav[0].float().cpu().numpy(), voc.sample_rate))
            if voc.duration is not None:
                full = all_units.long()[None]
                dur_losses.append(float(duration_loss(voc, full.to(voc.device), trim_edges=False)))
        out = {"valid/mel_distance": float(np.mean(dists))}
        if dur_losses:
            out["valid/dur_loss"] = float(np.mean(dur_losses))
        return out

    def export(self, generator: nn.Module, step: int) -> None:
        from audiotok.vocoders.loading import save

        voc: Vocoder = generator.vocoder  # type: ignore[assignment]
        state = {k: v.cpu() for k, v in folded_state_dict(voc).items()}
        save(voc, self.out, state)
