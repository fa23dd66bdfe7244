"""Per-layer state for causal convolution stacks, installed on a model's own module tree.

A causal stack (SEANet in EnCodec 24 kHz and Mimi) is made of padding wrappers around
``nn.Conv1d`` / ``nn.ConvTranspose1d``, LSTMs, and stateless pieces (activations, residual
sums, pointwise convs). Offline, a wrapper pads the whole input once: ``kernel - stride``
positions on the left (zeros, a replication or a reflection of the first positions), and
on the right the few positions that complete the last stride. Streaming, each wrapper keeps
the input positions its next output still needs, so pushing any split of the input through
the same module tree yields the same outputs, layer by layer:

- a causal conv pads only the first positions it ever sees, emits every output whose window
  is complete, and keeps the rest; at the end of the stream it adds the offline right padding
  (computed from the total length it has seen) and emits the last outputs;
- a causal transposed conv overlap-adds: each input position's ``kernel`` outputs are summed
  into the ``kernel - stride`` outputs still open, and the ``stride`` outputs no later input
  touches are emitted (offline trims the open ones at the end, so the stream does too);
- an LSTM carries its ``(h, c)``.

:data:`ADAPTERS` is the closed registry of wrapper classes this recognises (encodec's,
audiotok's own SEANet modules, transformers' Mimi modules), by ``module.qualname``. A
non-causal wrapper, or a bare temporal conv/LSTM outside any wrapper, makes the model not
streamable (:func:`check_streamable` names it). Outputs equal the offline ones up to float
rounding (the same kernels run on different lengths; overlap-add sums in another order).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from audiotok.errors import NotStreamableError


class TooShortError(Exception):
    """A reflection pad asked for more first positions than a layer has seen (warm-up)."""


@dataclass(frozen=True)
class CausalConv:
    run: Callable[[torch.Tensor], torch.Tensor]  # the conv (+ its norm) on padded input
    conv: nn.Conv1d
    pad_mode: str

    @property
    def kernel(self) -> int:  # effective (dilated) kernel
        return (self.conv.kernel_size[0] - 1) * self.conv.dilation[0] + 1

    @property
    def stride(self) -> int:
        return self.conv.stride[0]


@dataclass(frozen=True)
class CausalConvTranspose:
    run: Callable[[torch.Tensor], torch.Tensor]
    conv: nn.ConvTranspose1d


@dataclass(frozen=True)
class Recurrent:
    lstm: nn.LSTM
    skip: bool


Spec = CausalConv | CausalConvTranspose | Recurrent


def _seanet_conv(m: Any) -> Spec | str:
    """encodec's and audiotok's ``SConv1d`` (``conv.conv`` is the nn.Conv1d; encodec's
    ``conv`` also applies its norm, audiotok's holder only holds)."""
    if not m.causal:
        return "a non-causal (centred) convolution"
    inner = m.conv.conv
    run = m.conv if type(m.conv).__name__ == "NormConv1d" else inner
    return CausalConv(run, inner, m.pad_mode)


def _seanet_convtr(m: Any) -> Spec | str:
    if not m.causal or getattr(m, "trim_right_ratio", 1.0) != 1.0:
        return "a non-causal transposed convolution"
    inner = m.convtr.convtr
    run = m.convtr if type(m.convtr).__name__ == "NormConvTranspose1d" else inner
    return CausalConvTranspose(run, inner)


def _slstm(m: Any) -> Spec | str:
    if getattr(m, "bidirectional", False) or m.lstm.bidirectional:
        return "a bidirectional LSTM"
    return Recurrent(m.lstm, bool(m.skip))


def _mimi_conv(m: Any) -> Spec | str:
    return CausalConv(m.conv, m.conv, m.pad_mode) if m.causal else "a non-causal convolution"


def _mimi_convtr(m: Any) -> Spec | str:
    if not m.causal or m.padding_left != 0:
        return "a non-causal transposed convolution"
    return CausalConvTranspose(m.conv, m.conv)


ADAPTERS: dict[str, Callable[[Any], Spec | str]] = {
    "encodec.modules.conv.SConv1d": _seanet_conv,
    "encodec.modules.conv.SConvTranspose1d": _seanet_convtr,
    "encodec.modules.lstm.SLSTM": _slstm,
    "audiotok.codecs.seanet.SConv1d": _seanet_conv,
    "audiotok.codecs.seanet.SConvTranspose1d": _seanet_convtr,
    "audiotok.codecs.seanet.SLSTM": _slstm,
    "transformers.models.mimi.modeling_mimi.MimiConv1d": _mimi_conv,
    "transformers.models.mimi.modeling_mimi.MimiConvTranspose1d": _mimi_convtr,
}


def qualname(m: nn.Module) -> str:
    return f"{type(m).__module__}.{type(m).__qualname__}"


def _temporal(m: nn.Module) -> bool:
    """Layers that mix time steps (and so need a wrapper to stream)."""
    if isinstance(m, nn.ConvTranspose1d | nn.RNNBase):
        return True
    if isinstance(m, nn.Conv1d):
        return m.kernel_size[0] > 1 or m.stride[0] > 1
    return False


def adapted(root: nn.Module) -> dict[nn.Module, Spec]:
    """Every wrapper under ``root`` with its spec; raises if a time-mixing layer is not
    covered by a causal wrapper."""
    found: dict[nn.Module, Spec] = {}
    covered: set[int] = set()
    for name, m in root.named_modules():
        if id(m) in covered:
            continue
        make = ADAPTERS.get(qualname(m))
        if make is not None:
            spec = make(m)
            if isinstance(spec, str):
                raise NotStreamableError(f"{name or 'the model'} is {spec}; it cannot stream")
            found[m] = spec
            covered.update(id(c) for c in m.modules())
        elif _temporal(m):
            raise NotStreamableError(
                f"{name} ({type(m).__name__}) mixes time steps outside a known causal wrapper"
            )
    return found


def check_streamable(*roots: nn.Module) -> None:
    for r in roots:
        adapted(r)


@dataclass
class _State:
    buf: torch.Tensor | None = None  # conv: input positions not yet consumed (padded)
    seen: int = 0  # conv: real input positions seen so far
    tail: torch.Tensor | None = None  # transposed conv: outputs still open
    hc: Any = None  # LSTM (h, c)


class StreamState:
    """The per-layer state of one set of streams (batch of B streams) through one stack."""

    def __init__(self, root: nn.Module):
        self.specs = adapted(root)
        self.layers = {m: _State() for m in self.specs}
        self.final = False

    def started(self) -> bool:
        """Every conv has padded its start (after this, no step can run short)."""
        return all(
            st.buf is not None or st.seen
            for m, st in self.layers.items()
            if isinstance(self.specs[m], CausalConv)
        )

    @contextlib.contextmanager
    def attached(self, final: bool = False) -> Iterator[None]:
        """Route the wrappers' forwards through this state while the block runs (so a model
        serves one stream set at a time per thread: do not run it offline concurrently)."""
        self.final = final
        before = {m: m.__dict__.get("forward") for m in self.specs}  # an instance's own forward
        for m, spec in self.specs.items():
            m.forward = functools.partial(_STEPS[type(spec)], spec, self.layers[m], self)  # type: ignore[method-assign]
        try:
            yield
        finally:
            for m, f in before.items():
                if f is None:
                    del m.forward
                else:
                    m.forward = f  # type: ignore[method-assign]


def _empty(x: torch.Tensor, channels: int) -> torch.Tensor:
    return x.new_zeros(x.shape[0], channels, 0)


def _left_pad(x: torch.Tensor, pad: int, mode: str) -> torch.Tensor:
    if pad == 0:
        return x
    if mode == "reflect" and x.shape[-1] <= pad:
        raise TooShortError
    return F.pad(x, (pad, 0), mode="constant" if mode in ("zero", "constant") else mode)


def extra_padding(length: int, stride: int) -> int:
    """Right padding that completes the last stride: encodec's and transformers'
    ``get_extra_padding_for_conv1d`` with ``padding_total = kernel - stride`` reduces to
    ``ceil(L / stride) * stride - L``."""
    return -length % stride


def _conv_step(
    spec: CausalConv, st: _State, ss: StreamState, x: torch.Tensor, *_: Any, **__: Any
) -> torch.Tensor:
    k, s = spec.kernel, spec.stride
    if st.buf is None:
        if x.shape[-1] == 0:
            return _empty(x, spec.conv.out_channels)
        st.buf = _left_pad(x, k - s, spec.pad_mode)
    elif x.shape[-1]:
        st.buf = torch.cat([st.buf, x], dim=-1)
    st.seen += x.shape[-1]
    buf = st.buf
    if ss.final:
        extra = extra_padding(st.seen, s)
        if extra:
            mode = "constant" if spec.pad_mode in ("zero", "constant") else spec.pad_mode
            buf = F.pad(buf, (0, extra), mode=mode)
    n = (buf.shape[-1] - k) // s + 1 if buf.shape[-1] >= k else 0
    if n <= 0:
        return _empty(x, spec.conv.out_channels)
    y = spec.run(buf[..., : (n - 1) * s + k])
    st.buf = buf[..., n * s :]
    return y


def _convtr_step(
    spec: CausalConvTranspose, st: _State, ss: StreamState, x: torch.Tensor, *_: Any, **__: Any
) -> torch.Tensor:
    if x.shape[-1] == 0:
        return _empty(x, spec.conv.out_channels)
    s = spec.conv.stride[0]
    y = spec.run(x)  # (n - 1) * s + kernel positions
    if st.tail is not None:
        t = st.tail.shape[-1]
        open_ = st.tail
        if spec.conv.bias is not None:  # the bias is in both; keep it once
            open_ = open_ - spec.conv.bias.view(1, -1, 1)
        y = torch.cat([y[..., :t] + open_, y[..., t:]], dim=-1)
    n = x.shape[-1] * s
    st.tail = y[..., n:]
    return y[..., :n]


def _lstm_step(
    spec: Recurrent, st: _State, ss: StreamState, x: torch.Tensor, *_: Any, **__: Any
) -> torch.Tensor:
    if x.shape[-1] == 0:
        return x
    seq = x.permute(2, 0, 1)
    y, st.hc = spec.lstm(seq, st.hc)
    if spec.skip:
        y = y + seq
    return y.permute(1, 2, 0)


_STEPS: dict[type, Callable[..., torch.Tensor]] = {
    CausalConv: _conv_step,
    CausalConvTranspose: _convtr_step,
    Recurrent: _lstm_step,
}
