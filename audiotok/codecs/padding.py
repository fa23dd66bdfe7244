"""Padded batches that compute exactly what each file alone computes.

A convolution over a zero-padded batch sees, past the end of a short file, activations
computed from the padding, where the file alone sees the convolution's own padding (zeros
in DAC, a reflection in EnCodec's SEANet) at every layer. :func:`as_if_alone` installs
forward pre-hooks on every convolution that rewrite each item's input past its valid length
to what that layer would see for the file alone; outputs inside the valid length then equal
the file-alone outputs (tested in tests/codecs/test_batching.py).

The hooks write in place, and only past each item's valid end: inside it nothing changes,
and what lies past it is padding whatever any other consumer of the tensor makes of it.
Each item's valid length is carried from layer to layer with the layers' own length
formulas (DAC's odd-stride transposed convolutions give ``5 L - 1``, not ``5 L``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, cast

import torch
from torch import nn


class LengthTracker:
    """Each item's valid length at every resolution of the model, keyed by the full length
    of the batch tensor at that resolution (layers at one resolution share it)."""

    def __init__(self, lengths: Sequence[int], total: int):
        self.total = total
        self.lengths = [int(n) for n in lengths]
        self.by_len: dict[int, list[int]] = {total: self.lengths}

    def valid(self, full: int) -> list[int]:
        v = self.by_len.get(full)
        if v is None:  # a resolution no hooked layer produced: proportional to the input
            v = [-(-n * full // self.total) for n in self.lengths]
        return v

    def record(self, full: int, valid: list[int]) -> None:
        self.by_len.setdefault(full, valid)


def _conv_out(v: int, k: int, s: int, d: int, p: int) -> int:
    return (v + 2 * p - d * (k - 1) - 1) // s + 1


def _out_len(module: nn.Module, v: int) -> int:
    """Output length of ``module`` for an input of ``v`` positions (torch's formulas, and
    EnCodec's SConv1d / SConvTranspose1d padding rules)."""
    wrapper: Any = module  # EnCodec's wrappers: attributes torch's Module does not declare
    if hasattr(module, "convtr"):  # SConvTranspose1d: trims kernel - stride after the conv
        return v * wrapper.convtr.convtr.stride[0]
    if hasattr(module, "pad_mode"):  # SConv1d: pads itself, then a padding-free conv
        from audiotok.codecs.seanet import extra_padding

        c = wrapper.conv.conv
        k, s, d = c.kernel_size[0], c.stride[0], c.dilation[0]
        total = (k - 1) * d - (s - 1)
        extra = extra_padding(v, k, s, total)
        return _conv_out(v + total + extra, k, s, d, 0)
    # as_if_alone hooks only these, and with numeric padding (not "same"/"valid")
    conv = cast("nn.Conv1d | nn.ConvTranspose1d", module)
    padding = cast("tuple[int, ...]", conv.padding)
    k, s, d, p = conv.kernel_size[0], conv.stride[0], conv.dilation[0], padding[0]
    if isinstance(conv, nn.ConvTranspose1d):
        return (v - 1) * s - 2 * p + d * (k - 1) + conv.output_padding[0] + 1
    return _conv_out(v, k, s, d, p)


def _zero_past_end(tracker: LengthTracker):
    def hook(module: nn.Module, args: tuple) -> tuple | None:
        x = args[0]
        L = x.shape[-1]
        valid = tracker.valid(L)
        for b, v in enumerate(valid):  # in place: only positions past the valid end change
            if v < L:
                x[b, :, v:] = 0
        return None

    return hook


def _seanet_pad_past_end(tracker: LengthTracker):
    """EnCodec SConv1d pads on the right inside its forward: ``extra`` samples to complete the
    last stride (plus half the kernel when not causal), by reflection (encodec/modules/conv.py
    ``SConv1d.forward``; ours: :class:`audiotok.codecs.seanet.SConv1d`). Write that padding
    after each item's valid end."""
    from audiotok.codecs.seanet import extra_padding, pad1d

    def hook(module: nn.Module, args: tuple) -> tuple | None:
        x = args[0]
        L = x.shape[-1]
        valid = tracker.valid(L)
        if all(v >= L for v in valid):
            return None
        sconv: Any = module  # EnCodec's SConv1d: attributes torch's Module does not declare
        conv = sconv.conv.conv
        k, s, d = conv.kernel_size[0], conv.stride[0], conv.dilation[0]
        padding_total = (k - 1) * d - (s - 1)
        for b, v in enumerate(valid):  # in place: only positions past the valid end change
            if v >= L:
                continue
            item = x[b : b + 1, :, :v]
            extra = extra_padding(v, k, s, padding_total)
            right = extra + (0 if sconv.causal else padding_total // 2)
            padded = pad1d(item, 0, right, sconv.pad_mode)[..., :L]
            x[b, :, : padded.shape[-1]] = padded[0]
            x[b, :, padded.shape[-1] :] = 0
        return None

    return hook


def _record(tracker: LengthTracker):
    def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        valid = tracker.valid(args[0].shape[-1])
        tracker.record(out.shape[-1], [_out_len(module, v) for v in valid])

    return hook


@contextlib.contextmanager
def as_if_alone(model: nn.Module, lengths: Sequence[int], total: int) -> Iterator[LengthTracker]:
    """Within the block, ``model`` computes each batch item as if it were alone.

    lengths: each item's length, total: the padded length, both in the units of ``model``'s
    input (samples for an encoder, frames for a decoder). Yields the tracker:
    ``tracker.valid(out.shape[-1])`` gives each item's output length.
    """
    tracker = LengthTracker(lengths, total)
    if all(n == total for n in tracker.lengths):
        yield tracker
        return
    handles = []
    skip: set[int] = set()
    for m in model.modules():
        name = type(m).__name__
        if name in ("SConv1d", "SConvTranspose1d"):  # EnCodec: hook the padding wrapper
            pre = _seanet_pad_past_end(tracker) if name == "SConv1d" else _zero_past_end(tracker)
            handles.append(m.register_forward_pre_hook(pre))
            handles.append(m.register_forward_hook(_record(tracker)))
            skip.update(id(c) for c in m.modules())
    # Plain convolutions (DAC) read zeros past the end, like their own zero padding; for a
    # transposed convolution zeros contribute nothing, like the missing input of the file.
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)) and id(m) not in skip:
            handles.append(m.register_forward_pre_hook(_zero_past_end(tracker)))
            handles.append(m.register_forward_hook(_record(tracker)))
    try:
        yield tracker
    finally:
        for h in handles:
            h.remove()


def pad_to_multiple(wav: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad the last dimension up to a multiple of ``multiple``."""
    n = wav.shape[-1]
    right = -n % multiple
    return torch.nn.functional.pad(wav, (0, right)) if right else wav


def encode_items(
    encode_one: Any, wav: torch.Tensor, lengths: Any, frames_of: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """A padded batch ``wav [B, 1, T]`` encoded one file at a time: ``encode_one(wav[1, 1, n])
    -> codes [K, frames_of(n)]``; returns ``(codes [B, K, T'], frames [B])`` (codecs whose
    every layer sees all frames, so only a file alone gives its codes)."""
    if wav.dim() == 2:
        wav = wav.unsqueeze(1)
    n_frames = [int(frames_of(int(n))) for n in lengths]
    outs = []
    with torch.inference_mode():
        for b, n in enumerate(lengths):
            outs.append(encode_one(wav[b : b + 1, :, : int(n)]).reshape(-1, n_frames[b]))
    codes = torch.zeros(
        wav.shape[0], outs[0].shape[0], max(n_frames), dtype=torch.long, device=wav.device
    )
    for b, c in enumerate(outs):
        codes[b, :, : n_frames[b]] = c
    return codes, torch.tensor(n_frames)


def decode_items(
    decode_one: Any, codes: torch.Tensor, code_lengths: Any, hop: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded codes ``[B, K, T']`` decoded one file at a time: ``decode_one(codes[1, K, n])
    -> wav [n * hop]``; returns ``(wav [B, 1, T' * hop], samples [B])``."""
    out = torch.zeros(codes.shape[0], 1, codes.shape[-1] * hop, device=codes.device)
    with torch.inference_mode():
        for b, n in enumerate(code_lengths):
            n = int(n)
            if n:
                out[b, 0, : n * hop] = decode_one(codes[b : b + 1, :, :n]).reshape(-1)[: n * hop]
    return out, torch.as_tensor(code_lengths) * hop
