"""Weight normalisation for training, folded away for inference.

HiFi-GAN trains its generator with weight norm on every convolution (``weight_norm`` in
jik876/hifi-gan ``models.py``); inference modules in audiotok are plain convolutions, so the
trainer applies the parametrisation and :func:`fold_weight_norm` removes it on export.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

CONV_TYPES: tuple[type[nn.Module], ...] = (
    nn.Conv1d,
    nn.Conv2d,
    nn.ConvTranspose1d,
)


def apply_weight_norm(
    module: nn.Module, types: Iterable[type[nn.Module]] = CONV_TYPES
) -> nn.Module:
    """Put weight norm (dim 0, as ``torch.nn.utils.weight_norm``) on every conv of ``module``."""
    types = tuple(types)
    for m in module.modules():
        if isinstance(m, types) and not parametrize.is_parametrized(m, "weight"):
            weight_norm(m)
    return module


def fold_weight_norm(module: nn.Module) -> nn.Module:
    """Replace every parametrised weight by its current value (in place); returns ``module``."""
    for m in module.modules():
        if parametrize.is_parametrized(m):
            for name in list(m.parametrizations.keys()):  # type: ignore[union-attr,operator]
                parametrize.remove_parametrizations(m, name, leave_parametrized=True)
    return module


def folded_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict ``module`` would have with every parametrisation folded, without
    touching ``module`` (``copy.deepcopy`` + :func:`fold_weight_norm` would: the copy shares
    the parametrised class, whose property the removal deletes)."""
    out = {
        k: v.detach()
        for k, v in module.state_dict().items()
        if not (k.startswith("parametrizations.") or ".parametrizations." in k)
    }
    for name, m in module.named_modules():
        if parametrize.is_parametrized(m):
            for pname in m.parametrizations:  # type: ignore[union-attr]
                out[f"{name}.{pname}" if name else pname] = getattr(m, pname).detach()
    return out
