"""The FeatureExtractor contract: (wav[B, T], lengths[B]) -> (feats[B, T', D], frame_lengths[B])."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


class FeatureExtractor:
    name: str
    sample_rate: int
    frame_rate: float
    dim: int
    layer: int | None = None  # the layer the features come from (None for MFCC)
    weights_sha256: str = ""
    batch_exact: bool = True  # padded batches give the features of each file alone
    device: str = "cpu"

    def num_frames(self, num_samples: int) -> int:
        raise NotImplementedError

    def __call__(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def to(self, device: str) -> FeatureExtractor:
        self.device = device
        return self

    def frame_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.tensor([self.num_frames(int(n)) for n in lengths], dtype=torch.long)
