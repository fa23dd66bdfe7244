"""The HiFi-GAN generator (Kong et al. 2020, V1 layout) with exact batching.

Layout as jik876/hifi-gan ``models.py`` and fairseq ``hifigan.py``: ``conv_pre`` (kernel 7),
then per stage a leaky ReLU (0.1), a transposed conv (rate ``u``, channels halved) and the
multi-receptive-field fusion: the mean of one ``ResBlock`` per (kernel, dilations) pair, each
block being ``x + conv2(lrelu(conv1_d(lrelu(x))))`` for d in its dilations; then a leaky ReLU
with slope 0.01 (``F.leaky_relu`` default, as upstream), ``conv_post`` (kernel 7, one channel)
and tanh. Convolutions are plain (weight norm is folded in at export; training adds it).

Padding does not leak: with ``lengths`` given, every convolution's input is zeroed past each
item's length at that stage's resolution, so each item sees exactly the zero padding it sees
alone; a padded batch then equals the items decoded alone up to float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.1


def _padding(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


def _masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return x if mask is None else x * mask


class ResBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]):
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(
                channels, channels, kernel_size, 1, dilation=d, padding=_padding(kernel_size, d)
            )
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, 1, padding=_padding(kernel_size))
            for _ in dilations
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            xt = c1(_masked(F.leaky_relu(x, LRELU_SLOPE), mask))
            xt = c2(_masked(F.leaky_relu(xt, LRELU_SLOPE), mask))
            x = xt + x
        return x


class HiFiGANGenerator(nn.Module):
    """forward(x [B, in_dim, T'], lengths [B] or None) -> wav [B, 1, T' * prod(rates)]."""

    def __init__(
        self,
        in_dim: int,
        initial_channel: int,
        upsample_rates: tuple[int, ...],
        upsample_kernel_sizes: tuple[int, ...],
        resblock_kernel_sizes: tuple[int, ...],
        resblock_dilation_sizes: tuple[tuple[int, ...], ...],
    ):
        super().__init__()
        self.rates = tuple(upsample_rates)
        self.num_kernels = len(resblock_kernel_sizes)
        self.conv_pre = nn.Conv1d(in_dim, initial_channel, 7, 1, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        ch = initial_channel
        for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes, strict=True)):
            ch = initial_channel // 2 ** (i + 1)
            self.ups.append(nn.ConvTranspose1d(ch * 2, ch, k, u, padding=(k - u) // 2))
            for rk, rd in zip(resblock_kernel_sizes, resblock_dilation_sizes, strict=True):
                self.resblocks.append(ResBlock(ch, rk, rd))
        self.conv_post = nn.Conv1d(ch, 1, 7, 1, padding=3)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """HiFi-GAN's ``init_weights``: N(0, 0.01) for the upsampling, resblock and output
        convolutions (conv_pre keeps PyTorch's default)."""
        for m in [*self.ups, *self.resblocks.modules(), self.conv_post]:
            # on the meta device (loading: the weights come from the file) there is nothing
            # to draw, and torch's meta normal_ alone took most of a load's 0.1 s
            if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)) and not m.weight.is_meta:
                nn.init.normal_(m.weight, 0.0, 0.01)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        mask = None
        if lengths is not None:
            t = torch.arange(x.shape[-1], device=x.device)
            mask = (t[None, :] < lengths.to(x.device)[:, None]).unsqueeze(1).to(x.dtype)
        x = self.conv_pre(_masked(x, mask))
        for i, (up, u) in enumerate(zip(self.ups, self.rates, strict=True)):
            x = up(_masked(F.leaky_relu(x, LRELU_SLOPE), mask))
            if mask is not None:
                mask = mask.repeat_interleave(u, dim=-1)
            blocks = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            xs = blocks[0](x, mask)
            for block in blocks[1:]:
                xs = xs + block(x, mask)
            x = xs / self.num_kernels
        x = self.conv_post(_masked(F.leaky_relu(x), mask))
        return torch.tanh(x)


def receptive_radius_frames(
    upsample_rates: tuple[int, ...],
    upsample_kernel_sizes: tuple[int, ...],
    resblock_kernel_sizes: tuple[int, ...],
    resblock_dilation_sizes: tuple[tuple[int, ...], ...],
) -> int:
    """How many input frames on either side can reach an output sample (an upper bound):
    conv_pre, each stage's transposed conv and widest resblock at that stage's resolution, and
    conv_post, each rounded up to whole frames."""
    frames = 3.0  # conv_pre, kernel 7
    res = 1
    widest = max(
        sum((k - 1) * d // 2 + (k - 1) // 2 for d in ds)
        for k, ds in zip(resblock_kernel_sizes, resblock_dilation_sizes, strict=True)
    )
    for u, k in zip(upsample_rates, upsample_kernel_sizes, strict=True):
        frames += -(-k // u) / res  # transposed conv: ceil(k / u) inputs at the previous rate
        res *= u
        frames += widest / res
    frames += 3 / res  # conv_post
    return int(-(-frames // 1)) + 1
