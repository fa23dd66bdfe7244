"""Padded batches that compute exactly what each file alone computes.

A convolution over a zero-padded batch sees, past the end of a short file, activations
computed from the padding, where the file alone sees the convolution's own padding (zeros
in DAC, a reflection in EnCodec's SEANet) at every layer. :func:`as_if_alone` installs
forward pre-hooks on every convolution that rewrite each item's input past its valid length
to what that layer would see for the file alone; outputs inside the valid length then equal
the file-alone outputs (tested in tests/codecs/test_batching.py).

The valid length of item ``b`` at a layer whose input has ``L`` positions is
``ceil(n_b * L / N)``, with ``n_b`` the item's and ``N`` the batch's length in the model's
input units; ``N`` must be a multiple of the hop length, so every layer's ``L`` is exact.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn


def _valid(n: int, total: int, positions: int) -> int:
    return -(-n * positions // total)


def _zero_past_end(lengths: Sequence[int], total: int):
    def hook(module: nn.Module, args: tuple) -> tuple | None:
        x = args[0]
        L = x.shape[-1]
        valid = [_valid(n, total, L) for n in lengths]
        if all(v >= L for v in valid):
            return None
        x = x.clone()
        for b, v in enumerate(valid):
            x[b, :, v:] = 0
        return (x, *args[1:])

    return hook


def _seanet_pad_past_end(lengths: Sequence[int], total: int):
    """EnCodec SConv1d pads on the right inside its forward: ``extra`` samples to complete the
    last stride (plus half the kernel when not causal), by reflection (encodec/modules/conv.py
    ``SConv1d.forward``). Write that padding after each item's valid end."""
    from encodec.modules.conv import get_extra_padding_for_conv1d, pad1d

    def hook(module: nn.Module, args: tuple) -> tuple | None:
        x = args[0]
        L = x.shape[-1]
        valid = [_valid(n, total, L) for n in lengths]
        if all(v >= L for v in valid):
            return None
        conv = module.conv.conv
        k, s, d = conv.kernel_size[0], conv.stride[0], conv.dilation[0]
        padding_total = (k - 1) * d - (s - 1)
        x = x.clone()
        for b, v in enumerate(valid):
            if v >= L:
                continue
            item = x[b : b + 1, :, :v]
            extra = get_extra_padding_for_conv1d(item, k, s, padding_total)
            right = extra + (0 if module.causal else padding_total // 2)
            padded = pad1d(item, (0, right), mode=module.pad_mode)[..., : L]
            x[b, :, : padded.shape[-1]] = padded[0]
            x[b, :, padded.shape[-1] :] = 0
        return (x, *args[1:])

    return hook


@contextlib.contextmanager
def as_if_alone(model: nn.Module, lengths: Sequence[int], total: int) -> Iterator[None]:
    """Within the block, ``model`` computes each batch item as if it were alone.

    lengths: each item's length, total: the padded length (a multiple of the hop), both in
    the units of ``model``'s input (samples for an encoder, frames for a decoder).
    """
    lengths = [int(n) for n in lengths]
    if all(n == total for n in lengths):
        yield
        return
    try:
        from encodec.modules.conv import SConv1d
    except ImportError:  # pragma: no cover - encodec is a core dependency
        SConv1d = ()  # noqa: N806
    handles = []
    inside_sconv: set[int] = set()
    for m in model.modules():
        if SConv1d and isinstance(m, SConv1d):
            handles.append(m.register_forward_pre_hook(_seanet_pad_past_end(lengths, total)))
            inside_sconv.update(id(c) for c in m.modules())
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)) and id(m) not in inside_sconv:
            handles.append(m.register_forward_pre_hook(_zero_past_end(lengths, total)))
    # Transposed convolutions (SConvTranspose1d trims after the fact) read zeros past the
    # end: zeros contribute nothing, exactly like the missing input of the file alone.
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def pad_to_multiple(wav: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad the last dimension up to a multiple of ``multiple``."""
    n = wav.shape[-1]
    right = -n % multiple
    return torch.nn.functional.pad(wav, (0, right)) if right else wav
