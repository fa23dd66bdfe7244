"""Semantic distillation for SpeechTokenizer-style students: losses, teacher alignment, weights.

Pure functions of tensors (training only; the inference path never imports this module).
Shapes: student features ``[B, T', D]`` (codebook 0's quantised output through the projection,
:meth:`HybridCodecModel.semantic_features`), teacher features ``[B, T', D]`` aligned to the
student's frames by :func:`align_teacher`, optional ``mask`` ``[B, T']`` of valid frames.

The definitions follow the released trainer (``speechtokenizer/trainer/loss.py``) and the
paper (Zhang et al. 2024, §3.2, eq. 4 and 5):

- D-axis loss: for every feature dimension d, the cosine similarity *over time* between the
  student's and the teacher's trajectories of that dimension, ``cos(s[:, d], t[:, d])``
  (``cosine_similarity(..., axis=1)`` on ``[B, T, D]``), turned into ``-log sigmoid(cos)`` and
  averaged over dimensions and the batch.
- T-axis loss: per frame, ``L1(s_t, t_t)`` plus ``lambda_sim * -log sigmoid(cos(s_t, t_t))``
  with the cosine over the feature dimension, averaged over frames.

What we fixed from the released code: its T-axis loss calls ``torch.functional.l1_loss``,
which does not exist (``torch.nn.functional.l1_loss`` is meant), so ``distill_type: t_axis``
crashes; and its dataset crops the teacher features with ``feature[start:end]`` although
``hubert_rep_extract.py`` saves them as ``[1, T', D]`` (``hidden_states`` keep the batch axis),
so the crop falls on the batch axis of size 1 and the time axis is never cropped: a random
segment of audio is not paired with its own features. Here teacher features are
``[T', D]`` per file, aligned to the student's frame rate first, and :func:`crop_segment`
crops audio and features along time at the same frame. Padding frames are masked out of
both losses instead of being compared (the released trainer zero-pads short files and their
features).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class DistillWeights:
    """Loss weights; defaults from ``config/spt_base_cfg.json`` of ZhangXInFD/SpeechTokenizer.

    mel: one weight per mel scale (``mel_loss_lambdas`` [45, 1, 1, 1]; scale i uses
    ``n_fft 1024 / 2^i``, ``hop 240 / 2^i``, ``win 1024 / 2^i``, 80 mels, fmin 0, no fmax);
    recon: L1 waveform (``recon_loss_lambda`` 500); commit: commitment
    (``commitment_loss_lambda`` 10); distill: ``distill_loss_lambda`` 120 with ``distill_type``
    "d_axis" (the Hub's ``config.json`` of the released model carries an older
    ``lambda_distill: 0.15`` from a trainer that was not published); lambda_sim: the T-axis
    cosine weight (trainer default 1); adversarial and feature matching enter the generator
    loss with weight 1 (``trainer.py``), feature matching summed over layers then doubled
    (``loss.py`` ``feature_loss`` returns ``loss * 2``).
    """

    mel: tuple[float, ...] = (45.0, 1.0, 1.0, 1.0)
    mel_n_fft: int = 1024
    mel_hop: int = 240
    mel_win: int = 1024
    mel_bins: int = 80
    recon: float = 500.0
    commit: float = 10.0
    distill: float = 120.0
    distill_type: str = "d_axis"
    lambda_sim: float = 1.0
    adversarial: float = 1.0
    feature_matching: float = 2.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(student: torch.Tensor, teacher: torch.Tensor) -> None:
    if student.shape != teacher.shape or student.dim() != 3:
        raise ValueError(
            f"student and teacher features must both be [B, T', D] and aligned "
            f"(align_teacher), got {tuple(student.shape)} and {tuple(teacher.shape)}"
        )


def _masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return x if mask is None else x * mask[..., None].to(x.dtype)


def d_axis_loss(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``mean_{b,d} -log sigmoid(cos_t(student[b, :, d], teacher[b, :, d]))``; masked frames
    are left out of the cosine (zeroed in both: they add nothing to dot product or norms)."""
    _check(student, teacher)
    s, t = _masked(student.float(), mask), _masked(teacher.float(), mask)
    cos = F.cosine_similarity(s, t, dim=1)  # [B, D]: over time, per dimension
    return -F.logsigmoid(cos).mean()


def t_axis_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    mask: torch.Tensor | None = None,
    lambda_sim: float = 1.0,
) -> torch.Tensor:
    """Per frame ``L1 + lambda_sim * -log sigmoid(cos_d)``, averaged over valid frames (L1
    also over dimensions)."""
    _check(student, teacher)
    s, t = student.float(), teacher.float()
    l1 = (s - t).abs().mean(-1)  # [B, T']
    sim = -F.logsigmoid(F.cosine_similarity(s, t, dim=-1))  # [B, T']
    per_frame = l1 + lambda_sim * sim
    if mask is None:
        return per_frame.mean()
    m = mask.to(per_frame.dtype)
    return (per_frame * m).sum() / m.sum().clamp(min=1)


def teacher_cosine(
    student: torch.Tensor,
    teacher: torch.Tensor,
    mask: torch.Tensor | None = None,
    axis: str = "d",
) -> torch.Tensor:
    """How close the student is to the teacher: the mean cosine similarity that the matching
    loss pushes up. ``axis="d"`` (D-axis): over time, per feature dimension, averaged over
    dimensions; ``axis="t"`` (T-axis): over features, per frame, averaged over valid frames."""
    _check(student, teacher)
    s, t = student.float(), teacher.float()
    if axis == "d":
        return F.cosine_similarity(_masked(s, mask), _masked(t, mask), dim=1).mean()
    if axis != "t":
        raise ValueError(f"axis must be 'd' or 't', got {axis!r}")
    cos = F.cosine_similarity(s, t, dim=-1)
    if mask is None:
        return cos.mean()
    m = mask.to(cos.dtype)
    return (cos * m).sum() / m.sum().clamp(min=1)


def distill_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    mask: torch.Tensor | None = None,
    kind: str = "d_axis",
    lambda_sim: float = 1.0,
) -> torch.Tensor:
    if kind == "d_axis":
        return d_axis_loss(student, teacher, mask)
    if kind == "t_axis":
        return t_axis_loss(student, teacher, mask, lambda_sim)
    raise ValueError(f"unknown distillation loss {kind!r}: d_axis or t_axis")


def align_teacher(
    feats: torch.Tensor, teacher_rate: float, student_rate: float, num_frames: int
) -> torch.Tensor:
    """Teacher features ``[T_t, D]`` (or ``[B, T_t, D]``) at ``teacher_rate`` Hz -> ``[num_frames,
    D]`` at the student's ``student_rate``, along the time axis.

    Equal rates: frame j is teacher frame j (exact), the last teacher frame repeated where the
    teacher has fewer frames (HuBERT gives ``floor((T - 400) / 320) + 1``, a codec
    ``ceil(T / 320)``), extra teacher frames dropped. Different rates: linear interpolation
    at the student's frame centres, ``(j + 1/2) / student_rate`` seconds, between the teacher
    frames whose centres surround it (clamped at the ends); e.g. 50 Hz -> 12.5 Hz reads
    position ``4 j + 1.5``, the middle of the four teacher frames the student frame spans.
    """
    x = feats if feats.dim() == 3 else feats[None]
    if x.dim() != 3 or x.shape[1] == 0:
        raise ValueError(f"teacher features must be [T, D] or [B, T, D], got {tuple(feats.shape)}")
    n_t = x.shape[1]
    if teacher_rate == student_rate:
        idx = torch.arange(num_frames, device=x.device).clamp(max=n_t - 1)
        out = x[:, idx]
    else:
        j = torch.arange(num_frames, device=x.device, dtype=torch.float64)
        pos = ((j + 0.5) * teacher_rate / student_rate - 0.5).clamp(0, n_t - 1)
        lo = pos.floor().long()
        hi = (lo + 1).clamp(max=n_t - 1)
        w = (pos - lo).to(x.dtype)[None, :, None]
        out = x[:, lo] * (1 - w) + x[:, hi] * w
    return out if feats.dim() == 3 else out[0]


def crop_segment(
    wav: torch.Tensor, feats: torch.Tensor, start_frame: int, num_frames: int, hop: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The segment of ``num_frames`` student frames from ``start_frame``: audio ``[T]`` cut at
    ``start_frame * hop`` and aligned features ``[T', D]`` cut along TIME (axis 0), together."""
    if feats.dim() != 2:
        raise ValueError(f"aligned features must be [T', D] (one file), got {tuple(feats.shape)}")
    if wav.dim() != 1:
        raise ValueError(f"audio must be [T] (one file), got {tuple(wav.shape)}")
    a = start_frame * hop
    return wav[a : a + num_frames * hop], feats[start_frame : start_frame + num_frames]
