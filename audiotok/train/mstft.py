"""EnCodec's multi-scale STFT discriminator (Defossez et al. 2022, arXiv:2210.13438, 3.4).

Facts from facebookresearch/encodec ``encodec/msstftd.py`` and facebookresearch/audiocraft
``audiocraft/adversarial/discriminators/msstftd.py``: each scale takes the complex STFT
(``torchaudio.transforms.Spectrogram``: Hann window, ``normalized=True``, ``center=False``,
``power=None``) and stacks real and imaginary parts as 2 channels laid out ``[B, 2, frames,
freq]``; a Conv2d (2 -> filters, kernel (3, 9), no norm), three Conv2d with kernel (3, 9),
stride (1, 2) and time dilations 1, 2, 4, one (3, 3) conv, all followed by LeakyReLU(0.2),
then a (3, 3) output conv to one channel; weight norm on all but the first; ``filters`` 32
(``max_filters`` 1024, ``filters_scale`` 1). The paper uses five scales with window lengths
2048, 1024, 512, 256, 128 (hop = window / 4), which is the default here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

WINDOWS = (2048, 1024, 512, 256, 128)
LRELU_SLOPE = 0.2


def _pad2d(kernel: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    return ((kernel[0] - 1) * dilation[0] // 2, (kernel[1] - 1) * dilation[1] // 2)


class STFTDiscriminator(nn.Module):
    def __init__(
        self,
        n_fft: int,
        hop_length: int,
        win_length: int,
        filters: int = 32,
        kernel_size: tuple[int, int] = (3, 9),
        dilations: tuple[int, ...] = (1, 2, 4),
        stride: tuple[int, int] = (1, 2),
    ):
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)
        k0 = (kernel_size[0], kernel_size[0])
        convs = [nn.Conv2d(2, filters, kernel_size, padding=_pad2d(kernel_size))]
        for d in dilations:
            convs.append(
                weight_norm(
                    nn.Conv2d(
                        filters,
                        filters,
                        kernel_size,
                        stride,
                        dilation=(d, 1),
                        padding=_pad2d(kernel_size, (d, 1)),
                    )
                )
            )
        convs.append(weight_norm(nn.Conv2d(filters, filters, k0, padding=_pad2d(k0))))
        self.convs = nn.ModuleList(convs)
        self.conv_post = weight_norm(nn.Conv2d(filters, 1, k0, padding=_pad2d(k0)))

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, 1, T] -> [B, 2, frames, freq] in float32 (STFT outside autocast)."""
        with torch.autocast(x.device.type, enabled=False):
            spec = torch.stft(
                x[:, 0].float(),
                self.n_fft,
                self.hop_length,
                self.win_length,
                self.window,  # type: ignore[arg-type]
                center=False,
                normalized=True,
                return_complex=True,
            )  # [B, freq, frames]
        z = torch.stack([spec.real, spec.imag], dim=1)
        return z.transpose(2, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if x.shape[-1] < self.win_length:
            raise ValueError(
                f"STFT discriminator window {self.win_length} is longer than the "
                f"{x.shape[-1]}-sample segment: train on longer segments"
            )
        z = self.spectrogram(x)
        fmap = []
        for conv in self.convs:
            z = F.leaky_relu(conv(z), LRELU_SLOPE)
            fmap.append(z)
        z = self.conv_post(z)
        return torch.flatten(z, 1), fmap


class MultiScaleSTFTDiscriminator(nn.Module):
    """forward(x [B, 1, T]) -> (logits per scale, feature maps per scale)."""

    def __init__(self, windows: tuple[int, ...] = WINDOWS, filters: int = 32):
        super().__init__()
        self.discriminators = nn.ModuleList(
            STFTDiscriminator(w, w // 4, w, filters=filters) for w in windows
        )

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        logits, fmaps = [], []
        for d in self.discriminators:
            logit, fmap = d(x)
            logits.append(logit)
            fmaps.append(fmap)
        return logits, fmaps
