"""SEANet encoder/decoder as SpeechTokenizer and EnCodec use them (our implementation).

Facts from the ``speechtokenizer`` package 1.0.1 (ZhangXInFD/SpeechTokenizer,
``speechtokenizer/modules/{seanet,conv,lstm}.py``, itself EnCodec's SEANet): non-causal
convolutions with weight norm and reflection padding, residual blocks of a ``k=3`` dilated conv
and a ``k=1`` conv on ``dim // 2`` hidden channels with a ``k=1`` conv shortcut, strided
downsampling convs of kernel ``2 * ratio``, a 2-layer LSTM with a skip connection
(bidirectional in SpeechTokenizer's encoder: output ``2 C`` channels, the skip repeats its
input twice), ELU or Snake (``x + sin(alpha x)^2 / (alpha + 1e-9)``, per-channel ``alpha``)
activations. Module nesting and ``nn.Sequential`` indices are those of the package, so its
checkpoints load by key: ``model.N.conv.conv.weight_g`` / ``weight_v`` (the old
``torch.nn.utils.weight_norm`` names), ``model.N.convtr.convtr.*``, ``model.N.lstm.*``,
``model.N.block.M.*``, ``model.N.shortcut.conv.conv.*``, ``model.N.alpha`` (Snake).

EnCodec (``encodec`` package 0.1.1, ``encodec/modules/{seanet,conv}.py``) uses the same
stack with a unidirectional encoder LSTM, causal padding in the 24 kHz model (all the
padding on the left; transposed convs trimmed on the right) and, in the 48 kHz model,
``norm="time_group_norm"``: plain convolutions followed by ``GroupNorm(1, out_channels)``
(one group: statistics over channels and time of each item), keys ``conv.conv.weight``,
``conv.conv.bias``, ``conv.norm.weight``, ``conv.norm.bias`` (``convtr.*`` alike).

Frame rule: each strided conv gives ``ceil(L / stride)`` outputs (the input is reflection-padded
on the right to complete the last stride), so the encoder gives ``ceil(T / hop)`` frames;
the decoder gives ``hop`` samples per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn


def _norm_except_dim0(w: torch.Tensor) -> torch.Tensor:
    if w.is_meta:  # a shape-only build (sizing a model before loading it): nothing to compute
        return w.new_empty((w.shape[0],) + (1,) * (w.dim() - 1))
    return torch.linalg.vector_norm(w, dim=tuple(range(1, w.dim())), keepdim=True)


class WNConv1d(nn.Conv1d):
    """Conv1d with weight normalisation kept as ``weight_g`` and ``weight_v`` parameters."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        w = self.weight.detach().clone()
        del self.weight
        self.weight_g = nn.Parameter(_norm_except_dim0(w))
        self.weight_v = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch._weight_norm(self.weight_v, self.weight_g, 0)
        return self._conv_forward(x, w, self.bias)


class WNConvTranspose1d(nn.ConvTranspose1d):
    """ConvTranspose1d with weight normalisation over dim 0 (input channels), as upstream."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        w = self.weight.detach().clone()
        del self.weight
        self.weight_g = nn.Parameter(_norm_except_dim0(w))
        self.weight_v = nn.Parameter(w)

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        w = torch._weight_norm(self.weight_v, self.weight_g, 0)
        s, p, op, d = self.stride, self.padding, self.output_padding, self.dilation
        return F.conv_transpose1d(x, w, self.bias, s, p, op, self.groups, d)  # type: ignore[arg-type]


class _Holder(nn.Module):
    """One level of nesting so keys read ``conv.conv.*`` / ``convtr.convtr.*`` as upstream,
    with the normalisation applied after the convolution as ``norm`` (upstream's
    ``NormConv1d``: an identity for weight norm, ``GroupNorm(1, C)`` for time group norm)."""

    def __init__(self, name: str, module: nn.Module, norm: nn.Module | None = None):
        super().__init__()
        self.add_module(name, module)
        self._name = name
        self.norm = nn.Identity() if norm is None else norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(getattr(self, self._name)(x))


# norm name -> (conv class, transposed conv class, whether a GroupNorm(1, C) follows)
NORMS: dict[str, tuple[type[nn.Conv1d], type[nn.ConvTranspose1d], bool]] = {
    "weight_norm": (WNConv1d, WNConvTranspose1d, False),
    "time_group_norm": (nn.Conv1d, nn.ConvTranspose1d, True),
}


def _norm_kind(norm: str) -> tuple[type[nn.Conv1d], type[nn.ConvTranspose1d], bool]:
    if norm not in NORMS:
        raise ValueError(f"unknown SEANet norm {norm!r}: {', '.join(NORMS)}")
    return NORMS[norm]


def extra_padding(length: int, kernel: int, stride: int, padding_total: int) -> int:
    """Right padding that completes the last stride: ``ceil`` frames, none lost."""
    n_frames = (length - kernel + padding_total) / stride + 1
    ideal = (math.ceil(n_frames) - 1) * stride + (kernel - padding_total)
    return ideal - length


def pad1d(x: torch.Tensor, left: int, right: int, mode: str) -> torch.Tensor:
    """F.pad, where reflection of an input shorter than the padding first zero-extends it."""
    if mode != "reflect":
        return F.pad(x, (left, right), mode)
    extra = max(0, max(left, right) - x.shape[-1] + 1)
    if extra:
        x = F.pad(x, (0, extra))
    y = F.pad(x, (left, right), mode)
    return y[..., : y.shape[-1] - extra]


class SConv1d(nn.Module):
    """Non-causal (or causal) conv padded so that ``ceil(L / stride)`` frames come out.

    The attribute names (``conv.conv``, ``causal``, ``pad_mode``) are those that
    :func:`audiotok.codecs.padding.as_if_alone` recognises for SEANet padding wrappers.
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: int = 1,
        dilation: int = 1,
        causal: bool = False,
        pad_mode: str = "reflect",
        norm: str = "weight_norm",
    ):
        super().__init__()
        conv_cls, _, group_norm = _norm_kind(norm)
        gn = nn.GroupNorm(1, cout) if group_norm else None
        self.conv = _Holder("conv", conv_cls(cin, cout, kernel, stride, dilation=dilation), gn)
        self.causal = causal
        self.pad_mode = pad_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = cast(nn.Conv1d, self.conv.conv)
        k, s, d = c.kernel_size[0], c.stride[0], c.dilation[0]
        total = (k - 1) * d - (s - 1)
        extra = extra_padding(x.shape[-1], k, s, total)  # stride 1 when dilated: 0
        if self.causal:
            x = pad1d(x, total, extra, self.pad_mode)
        else:
            right = total // 2
            x = pad1d(x, total - right, right + extra, self.pad_mode)
        return self.conv(x)


class SConvTranspose1d(nn.Module):
    """Transposed conv trimmed by ``kernel - stride``: exactly ``stride`` outputs per input."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: int,
        causal: bool = False,
        norm: str = "weight_norm",
    ):
        super().__init__()
        _, convtr_cls, group_norm = _norm_kind(norm)
        gn = nn.GroupNorm(1, cout) if group_norm else None
        self.convtr = _Holder("convtr", convtr_cls(cin, cout, kernel, stride), gn)
        self.causal = causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = cast(nn.ConvTranspose1d, self.convtr.convtr)
        y = self.convtr(x)
        total = c.kernel_size[0] - c.stride[0]
        right = total if self.causal else total // 2
        return y[..., total - right : y.shape[-1] - right]


class SLSTM(nn.Module):
    """LSTM over ``[B, C, T]`` with a skip connection; ``lengths`` packs a padded batch so each
    item's recurrence (both directions) runs over its own frames only."""

    def __init__(self, dim: int, num_layers: int = 2, bidirectional: bool = False):
        super().__init__()
        self.bidirectional = bidirectional
        self.skip = True
        self.lstm = nn.LSTM(dim, dim, num_layers, bidirectional=bidirectional)

    def forward(self, x: torch.Tensor, lengths: list[int] | None = None) -> torch.Tensor:
        seq = x.permute(2, 0, 1)  # [T, B, C]
        T = seq.shape[0]
        if lengths is None or all(int(n) == T for n in lengths):
            y, _ = self.lstm(seq)
        else:
            from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

            packed = pack_padded_sequence(
                seq, torch.as_tensor(lengths, dtype=torch.long), enforce_sorted=False
            )
            y, _ = pad_packed_sequence(self.lstm(packed)[0], total_length=T)
        skip = seq.repeat(1, 1, 2) if self.bidirectional else seq
        return (y + skip).permute(1, 2, 0)


class Snake1d(nn.Module):
    """Snake activation (Ziyin et al. 2020), one ``alpha`` per channel (key ``alpha``)."""

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + (self.alpha + 1e-9).reciprocal() * torch.sin(self.alpha * x).pow(2)


def activation(name: str, channels: int) -> nn.Module:
    if name == "Snake":
        return Snake1d(channels)
    if name == "ELU":
        return nn.ELU(alpha=1.0)
    cls = getattr(nn, name, None)
    if cls is None:
        raise ValueError(f"unknown SEANet activation {name!r}: use ELU, Snake or a torch.nn name")
    return cls()


@dataclass
class SEANetConfig:
    """SEANet sizes; ``ratios`` in decoder order (the encoder applies them reversed)."""

    channels: int = 1
    dimension: int = 1024
    n_filters: int = 64
    ratios: list[int] = field(default_factory=lambda: [8, 5, 4, 2])
    n_residual_layers: int = 1
    kernel_size: int = 7
    last_kernel_size: int = 7
    residual_kernel_size: int = 3
    dilation_base: int = 2
    compress: int = 2
    lstm_layers: int = 2
    bidirectional: bool = True  # the encoder's LSTM (the decoder's is unidirectional)
    activation: str = "ELU"
    causal: bool = False
    pad_mode: str = "reflect"
    norm: str = "weight_norm"  # or "time_group_norm" (EnCodec 48 kHz)

    @property
    def hop_length(self) -> int:
        return math.prod(self.ratios)


def _conv_opts(cfg: SEANetConfig) -> dict:
    return {"causal": cfg.causal, "pad_mode": cfg.pad_mode, "norm": cfg.norm}


class ResnetBlock(nn.Module):
    def __init__(self, cfg: SEANetConfig, dim: int, dilation: int):
        super().__init__()
        hidden = dim // cfg.compress
        k, opts = cfg.residual_kernel_size, _conv_opts(cfg)
        self.block = nn.Sequential(
            activation(cfg.activation, dim),
            SConv1d(dim, hidden, k, dilation=dilation, **opts),
            activation(cfg.activation, hidden),
            SConv1d(hidden, dim, 1, **opts),
        )
        self.shortcut = SConv1d(dim, dim, 1, **opts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.block(x)


class SEANetEncoder(nn.Module):
    """wav[B, channels, T] -> emb[B, dimension, ceil(T / hop)]."""

    def __init__(self, cfg: SEANetConfig):
        super().__init__()
        nf, o = cfg.n_filters, _conv_opts(cfg)
        layers: list[nn.Module] = [SConv1d(cfg.channels, nf, cfg.kernel_size, **o)]
        mult = 1
        for ratio in reversed(cfg.ratios):
            for j in range(cfg.n_residual_layers):
                layers.append(ResnetBlock(cfg, mult * nf, cfg.dilation_base**j))
            layers.append(activation(cfg.activation, mult * nf))
            layers.append(SConv1d(mult * nf, 2 * mult * nf, 2 * ratio, stride=ratio, **o))
            mult *= 2
        if cfg.lstm_layers:
            layers.append(SLSTM(mult * nf, cfg.lstm_layers, bidirectional=cfg.bidirectional))
            if cfg.bidirectional:
                mult *= 2
        layers.append(activation(cfg.activation, mult * nf))
        layers.append(SConv1d(mult * nf, cfg.dimension, cfg.last_kernel_size, **o))
        self.model = nn.Sequential(*layers)
        self.hop_length = cfg.hop_length

    def split(self) -> tuple[nn.Sequential, SLSTM | None, nn.Sequential]:
        """(convs before the LSTM, the LSTM, layers after it), sharing the modules."""
        layers = list(self.model)
        i = next((i for i, m in enumerate(layers) if isinstance(m, SLSTM)), None)
        if i is None:
            return nn.Sequential(*layers), None, nn.Sequential()
        lstm = layers[i]
        assert isinstance(lstm, SLSTM)
        return nn.Sequential(*layers[:i]), lstm, nn.Sequential(*layers[i + 1 :])

    def forward(self, x: torch.Tensor, frame_lengths: list[int] | None = None) -> torch.Tensor:
        pre, lstm, post = self.split()
        h = pre(x)
        if lstm is not None:
            h = lstm(h, frame_lengths)
        return post(h)


class SEANetDecoder(nn.Module):
    """emb[B, dimension, T'] -> wav[B, channels, T' * hop] (unidirectional LSTM)."""

    def __init__(self, cfg: SEANetConfig):
        super().__init__()
        nf, o = cfg.n_filters, _conv_opts(cfg)
        mult = 2 ** len(cfg.ratios)
        layers: list[nn.Module] = [SConv1d(cfg.dimension, mult * nf, cfg.kernel_size, **o)]
        if cfg.lstm_layers:
            layers.append(SLSTM(mult * nf, cfg.lstm_layers, bidirectional=False))
        for ratio in cfg.ratios:
            layers.append(activation(cfg.activation, mult * nf))
            layers.append(
                SConvTranspose1d(
                    mult * nf, mult * nf // 2, 2 * ratio, ratio, causal=cfg.causal, norm=cfg.norm
                )
            )
            for j in range(cfg.n_residual_layers):
                layers.append(ResnetBlock(cfg, mult * nf // 2, cfg.dilation_base**j))
            mult //= 2
        layers.append(activation(cfg.activation, nf))
        layers.append(SConv1d(nf, cfg.channels, cfg.last_kernel_size, **o))
        self.model = nn.Sequential(*layers)
        self.hop_length = cfg.hop_length

    def split(self) -> tuple[nn.Sequential, nn.Sequential]:
        """(layers up to and including the LSTM, at the frame rate; the upsampling rest)."""
        layers = list(self.model)
        i = next((i for i, m in enumerate(layers) if isinstance(m, SLSTM)), 0)
        return nn.Sequential(*layers[: i + 1]), nn.Sequential(*layers[i + 1 :])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)
