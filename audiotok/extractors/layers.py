"""Which transformer layers to take, and how several are combined.

One numbering everywhere (DESIGN.md): ``0`` = the transformer's input (after the CNN feature
encoder, the feature projection and the convolutional position embedding; HF
``hidden_states[0]``), ``n`` = the output of transformer layer ``n`` (1-based; HF
``hidden_states[n]``, fairseq ``output_layer=n``, torchaudio ``extract_features(...)[n-1]``).

The last layer of pre-LN models (``do_stable_layer_norm``: HuBERT large/xlarge, wav2vec2
large-lv60, XLS-R, WavLM large) is the one place where the backends disagree: the encoder
applies a final LayerNorm after its last layer. fairseq's ``output_layer=L``, torchaudio's
intermediate outputs and transformers >= 5's ``hidden_states[L]`` stop before it; transformers
4's ``hidden_states[L]`` and every version's ``last_hidden_state`` include it. audiotok
follows DESIGN.md's convention: layer L is the output of transformer layer L without the final
layer norm, as fairseq's ``output_layer=L`` and transformers 5's ``hidden_states[L]``
(``final_layer_norm=False``, the default); ``final_layer_norm=True`` gives the normed
``last_hidden_state``. Layers below L never get it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from audiotok.errors import AudiotokError

COMBINE = ("mean", "weighted", "learned")


def parse_layers(spec: str | int | Sequence[int] | None, num_layers: int) -> tuple[int, ...]:
    """'6' / 6 / [6, 12] / '6,12,24' / 'all' / None (the last layer) -> validated tuple."""
    if spec is None:
        return (num_layers,)
    if isinstance(spec, str):
        if spec.strip() == "all":
            return tuple(range(num_layers + 1))
        try:
            spec = [int(s) for s in spec.split(",") if s.strip()]
        except ValueError:
            raise AudiotokError(f"--layer {spec!r}: expected numbers like 6 or 6,12,24") from None
    layers = (spec,) if isinstance(spec, int) else tuple(int(x) for x in spec)
    if not layers:
        raise AudiotokError("no layer given")
    bad = [n for n in layers if not 0 <= n <= num_layers]
    if bad:
        raise AudiotokError(
            f"layer {bad[0]} does not exist: this model has layers 0 (transformer input) to "
            f"{num_layers}"
        )
    if len(set(layers)) != len(layers):
        raise AudiotokError(f"layer list {list(layers)} repeats a layer")
    return layers


class LayerCombiner(nn.Module):
    """Combine per-layer features [B, T, D] into one [B, T, D].

    ``mean``: plain average. ``weighted``: fixed weights as given (not normalised).
    ``learned``: softmax over trainable logits initialised to zero (SUPERB-style), so it
    starts as the mean; the parameter is ``combiner.logits``.
    """

    weights: torch.Tensor  # buffer registered in __init__ (mode "weighted" only)

    def __init__(self, num: int, mode: str = "mean", weights: Sequence[float] | None = None):
        super().__init__()
        if mode not in COMBINE:
            raise AudiotokError(f"combine={mode!r}: use one of {', '.join(COMBINE)}")
        self.mode = mode
        if mode == "weighted":
            if weights is None or len(weights) != num:
                raise AudiotokError(f"combine='weighted' needs {num} layer_weights")
            self.register_buffer("weights", torch.tensor([float(w) for w in weights]))
        elif mode == "learned":  # layer_weights, when given, are the logits (a saved recipe)
            init = (
                torch.zeros(num) if weights is None else torch.tensor([float(w) for w in weights])
            )
            if init.numel() != num:
                raise AudiotokError(f"combine='learned' needs {num} layer_weights (logits)")
            self.logits = nn.Parameter(init)

    def values(self) -> list[float] | None:
        """What a recipe records: the fixed weights, the learned logits, None for mean."""
        if self.mode == "weighted":
            return [float(w) for w in self.weights]
        if self.mode == "learned":
            return [float(w) for w in self.logits.detach().cpu()]
        return None

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        x = torch.stack(list(feats), dim=0)  # [L, B, T, D]
        if self.mode == "mean":
            return x.mean(0)
        w = self.weights if self.mode == "weighted" else torch.softmax(self.logits, 0)
        return (w.to(x.dtype).view(-1, 1, 1, 1) * x).sum(0)

    def describe(self) -> str:
        if self.mode == "weighted":
            return "weighted(" + ",".join(f"{float(w):g}" for w in self.weights) + ")"
        return self.mode
