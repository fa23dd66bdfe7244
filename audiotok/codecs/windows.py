"""Long inputs in bounded memory: windows with context from the receptive field.

Two stitching schemes, both exact (the stitched output equals the whole-input output; the
tests compare codes and waveforms):

- :func:`run_windowed` for convolutional stacks (DAC): each window is computed with
  ``context`` input positions on both sides and the outputs that the context positions
  could influence are dropped. Exact when ``context`` covers half the receptive field.
- :func:`run_streaming` for causal stacks with an LSTM (EnCodec 24 kHz): the convolutions
  before the LSTM get left context only, the LSTM carries its (h, c) state from window to
  window, and the convolutions after it get the last outputs of the previous window as
  left context. The LSTM's unbounded context is then kept, not approximated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import cast

import torch
from torch import nn


def conv_span(module: nn.Module) -> int:
    """Upper bound of a conv stack's receptive field, in the module's input positions.

    Sums ``(kernel - 1) * dilation`` of every Conv1d (``ceil(kernel / stride)`` input
    positions for a ConvTranspose1d) times the input positions per position at that layer,
    tracking strides in definition order (which is execution order for SEANet and DAC).
    Parallel branches are summed too, so the bound is safe, not tight.
    """
    scale = Fraction(1)
    span = Fraction(0)
    for m in module.modules():
        if isinstance(m, nn.ConvTranspose1d):
            k, s = m.kernel_size[0], m.stride[0]
            span += math.ceil(k / s) * scale
            scale /= s
        elif isinstance(m, nn.Conv1d):
            k, s, d = m.kernel_size[0], m.stride[0], m.dilation[0]
            span += (k - 1) * d * scale
            scale *= s
    return math.ceil(span)


def round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def windows(n: int, window: int) -> Iterator[tuple[int, int]]:
    """[start, end) cuts of ``range(n)`` of length ``window`` (the last may be shorter)."""
    for s in range(0, n, window):
        yield s, min(n, s + window)


def equal_windows(n: int, window: int, context: int) -> list[tuple[int, int, int]]:
    """Cuts ``(a, s, e)`` of ``range(n)``: the positions ``[s, e)`` (consecutive, covering
    ``range(n)``) are computed in the window ``[a, a + window + 2 * context)``, every window
    of that one length, so windows of many files batch without padding. Each kept span has
    ``context`` positions on both sides inside its window, or reaches the file's edge there;
    the last window is moved back to end at ``n``. Needs ``n >= window + 2 * context``;
    ``a``, ``s`` and ``e`` are multiples of any step dividing ``window``, ``context`` and
    ``n``."""
    size = window + 2 * context
    if n < size:
        raise ValueError(f"{n} positions are fewer than one window of {size}")
    cuts = []
    for s, e in windows(n, window):
        cuts.append((min(max(0, s - context), n - size), s, e))
    return cuts


def run_windowed(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    window: int,
    context: int,
    ratio: Fraction,
) -> torch.Tensor:
    """``fn`` over ``x[..., T]`` in windows; returns what ``fn(x)`` returns.

    ratio: output positions per input position; ``window`` and ``context`` must be
    multiples of ``1 / ratio`` so window edges fall on output positions.
    """
    n = x.shape[-1]
    if n <= window + 2 * context:
        return fn(x)
    pieces = []
    for s, e in windows(n, window):
        a, b = max(0, s - context), min(n, e + context)
        y = fn(x[..., a:b])
        lo = int((s - a) * ratio)
        hi = y.shape[-1] if e == n else int((e - a) * ratio)
        pieces.append(y[..., lo:hi])
    return torch.cat(pieces, dim=-1)


def split_at_lstm(seq: nn.Sequential) -> tuple[nn.Sequential, nn.Module, nn.Sequential]:
    layers = list(seq)
    i = next(i for i, m in enumerate(layers) if hasattr(m, "lstm") and hasattr(m, "skip"))
    return nn.Sequential(*layers[:i]), layers[i], nn.Sequential(*layers[i + 1 :])


def run_streaming(
    seq: nn.Sequential, x: torch.Tensor, window: int, pre_ratio: Fraction, post_ratio: int
) -> torch.Tensor:
    """A causal SEANet stack (convs, SLSTM, convs) over ``x`` in windows, exactly.

    pre_ratio: outputs of the convolutions before the LSTM per input position
    (1/hop for the encoder, 1 for the decoder); post_ratio: outputs per LSTM position
    after it (1 for the encoder, hop for the decoder). ``window`` is in input positions and
    a multiple of ``1 / pre_ratio``.
    """
    pre, slstm, post = split_at_lstm(seq)
    lstm = cast(nn.LSTM, slstm.lstm)  # SEANet's SLSTM wraps an nn.LSTM
    step = int(1 / pre_ratio)
    pre_ctx = round_up(conv_span(pre) + step, step)
    post_ctx = conv_span(post) + 1
    n = x.shape[-1]
    state = None
    tail = None
    pieces = []
    for s, e in windows(n, window):
        a = max(0, s - pre_ctx)
        h = pre(x[..., a:e])[..., int((s - a) * pre_ratio) :]
        seq_in = h.permute(2, 0, 1)
        y, state = lstm(seq_in, state)
        if slstm.skip:
            y = y + seq_in
        y = y.permute(1, 2, 0)
        z = y if tail is None else torch.cat([tail, y], dim=-1)
        out = post(z)
        drop = 0 if tail is None else tail.shape[-1] * post_ratio
        pieces.append(out[..., drop:])
        tail = z[..., -post_ctx:]
    return torch.cat(pieces, dim=-1)
