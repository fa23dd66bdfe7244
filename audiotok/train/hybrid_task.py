"""The hybrid-codec GAN task for :class:`audiotok.train.engine.GanTrainer` (training only).

Generator losses, each with its weight from :class:`DistillWeights` (the released
SpeechTokenizer config, ``config/spt_base_cfg.json``; its trainer sums them in
``speechtokenizer/trainer/trainer.py``):

- ``mel``: ``sum_i mel_i * L1(log mel)`` over 4 scales, n_fft / window ``1024 / 2^i``, hop
  ``240 / 2^i``, 80 HTK-scale mel bands with Slaney area normalisation, f_min 0, no f_max
  (``mel_loss_lambdas`` [45, 1, 1, 1], ``n_fft``, ``hop_size``, ``win_size``, ``num_mels``,
  ``fmin``, ``fmax_for_loss``; the filter settings from ``trainer/loss.py``). Frames are
  centred (``torch.stft``'s reflection padding) where the released loss pads
  ``(n_fft - hop) / 2`` on each side; the bands are the same.
- ``recon``: L1 of the waveforms x ``recon_loss_lambda`` (500).
- ``commit``: the quantiser's commitment loss x ``commitment_loss_lambda`` (10).
- ``distill``: the D-axis loss (or the T-axis loss) between codebook 0's projected output
  and the aligned teacher features x ``distill_loss_lambda`` (120); weight 0 trains a codec
  without distillation (the loss is still computed, at zero weight, so every parameter
  takes part in each step as DDP requires).

The trainer adds LSGAN (weight 1) and feature matching (weight 2: ``feature_loss`` returns
twice the sum) against the discriminators. Held-out evaluation runs whole files (at most
``eval_max_frames``) through the model in eval mode and reports the teacher cosine (D-axis:
per feature dimension over time, what the loss raises; T-axis: per frame over features), the
distillation loss and the mel distance of the reconstruction (``eval recon``'s metric).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from audiotok.train.corpus import CorpusIndex
from audiotok.train.dist import DistInfo
from audiotok.train.distill import DistillWeights, distill_loss, teacher_cosine
from audiotok.train.mel import MultiResolutionMelLoss
from audiotok.train.segments import SegmentBatches, SegmentDataset


@torch.no_grad()
def init_student(model: nn.Module) -> nn.Module:
    """LeCun-normal convolutions (``N(0, 1 / fan_in)``, the norm kept as ``weight_g``) and
    zero biases. At PyTorch's default init (``kaiming_uniform(a=sqrt(5))``: variance
    ``1 / (3 fan_in)``) each conv shrinks the signal's variance about threefold, so a fresh
    SEANet encoder outputs its biases (the latent barely moves with the audio, its spread over
    time far below its mean; with this init the spread is of the order of the mean). Codebook
    0 can only be distilled once the latent moves with the audio; at the default init a tiny
    student needs hundreds of steps to get there."""
    from audiotok.codecs.seanet import WNConv1d, WNConvTranspose1d, _norm_except_dim0

    for mod in model.modules():
        if isinstance(mod, (WNConv1d, WNConvTranspose1d)):
            v = mod.weight_v
            if isinstance(mod, WNConvTranspose1d):  # [in, out, k]: each output sums in * k / stride
                fan_in = v.shape[0] * v.shape[2] // mod.stride[0]
            else:
                fan_in = v.shape[1] * v.shape[2]
            v.normal_(0.0, fan_in**-0.5)
            mod.weight_g.copy_(_norm_except_dim0(v))
            if mod.bias is not None:
                mod.bias.zero_()
    return model


def mel_loss_for(sample_rate: int, w: DistillWeights) -> MultiResolutionMelLoss:
    """SpeechTokenizer's multi-scale mel loss (scale i halves n_fft, window and hop)."""
    scales = [(w.mel_n_fft >> i, w.mel_hop >> i, w.mel_bins) for i in range(len(w.mel))]
    return MultiResolutionMelLoss(sample_rate, scales, weights=w.mel, mel_scale="htk")


class HybridTrainModule(nn.Module):
    """What DDP wraps: wav [B, 1, T] -> (reconstruction [B, 1, T], commitment loss, codebook
    0's projected output [B, T', D_teacher])."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        recon, out, feats = self.model(wav)
        return recon, out.commit_loss, feats


class HybridTask(SegmentBatches):
    def __init__(
        self,
        model: Any,
        discriminator: nn.Module,
        index: CorpusIndex,
        train_items: list[int],
        valid_items: list[int],
        out_dir: Path,
        *,
        segment_frames: int,
        batch_size: int,
        seed: int,
        weights: DistillWeights,
        num_workers: int = 0,
        eval_max_frames: int = 500,
    ):
        self.generator: nn.Module = HybridTrainModule(model)
        self.discriminator: nn.Module = discriminator
        self.index, self.valid_items, self.out = index, valid_items, out_dir
        self.dataset = SegmentDataset(index, train_items, segment_frames, seed, name="teacher")
        self.batch_size, self.seed, self.num_workers = batch_size, seed, num_workers
        self.w = weights
        self.eval_max_frames = eval_max_frames
        self.mel = mel_loss_for(index.sample_rate, weights)

    @torch.no_grad()
    def init_codebooks(self, info: DistInfo, device: torch.device) -> None:
        """k-means initialisation of every codebook on the first training batch (what the
        first training step would do), before the step-0 evaluation; one EMA update."""
        model: Any = self.generator.model
        batch = next(self.batches(0, info))
        model.train()
        model(batch["audio"].to(device))

    def generator_step(
        self, generator: nn.Module, batch: dict[str, torch.Tensor], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        w = self.w
        real = batch["audio"].to(device, non_blocking=True)
        teacher = batch["teacher"].to(device, non_blocking=True)
        fake, commit, feats = generator(real)
        self.mel.to(device)
        losses = {
            "mel": self.mel(fake, real),
            "recon": w.recon * F.l1_loss(fake.float(), real.float()),
            "commit": w.commit * commit,
            "distill": w.distill * distill_loss(feats, teacher, None, w.distill_type, w.lambda_sim),
        }
        return fake, real, losses

    @torch.no_grad()
    def evaluate(self, generator: nn.Module, step: int) -> dict[str, float]:
        from audiotok.metrics.signal import mel_distance

        model: Any = generator.model
        model.eval()
        device = next(model.parameters()).device
        maps = (self.index.audio_memmap(), self.index.frames_memmap())
        hop, sr = self.index.hop, self.index.sample_rate
        cos_d, cos_t, dist, mels = [], [], [], []
        for i in self.valid_items:
            wav, feats = self.index.file(i, *maps)
            n = min(len(feats), self.eval_max_frames)
            x = (wav[: n * hop].float() / 32768.0).view(1, 1, -1)
            teacher = feats[:n].float()[None].to(device)
            out = model.vq(model.encoder(x.to(device)))
            student = model.semantic_features(out).float()
            cos_d.append(float(teacher_cosine(student, teacher, axis="d")))
            cos_t.append(float(teacher_cosine(student, teacher, axis="t")))
            dist.append(float(distill_loss(student, teacher, None, self.w.distill_type)))
            recon = model.decoder(out.quantized)[0, 0].float().cpu().numpy()
            mels.append(mel_distance(x[0, 0].numpy(), recon, sr))
        return {
            "valid/teacher_cosine": float(np.mean(cos_d)),
            "valid/teacher_cosine_t": float(np.mean(cos_t)),
            "valid/distill_loss": float(np.mean(dist)),
            "valid/mel_distance": float(np.mean(mels)),
        }

    def export(self, generator: nn.Module, step: int) -> None:
        from audiotok.codecs.speechtokenizer_student import save_student

        save_student(generator.model, self.out)
