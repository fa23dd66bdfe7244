"""DAC weights: the released ``.pth``, or safetensors + JSON converted from it once.

The DAC release files are written by audiotools' ``BaseModel.save(package=False)``:
``torch.save({"state_dict": ..., "metadata": {"kwargs": DAC constructor arguments}})``.
Tensors, dicts, lists, numbers and strings load with ``torch.load(weights_only=True)``, so
audiotok reads them directly. If a file needs more (arbitrary pickled objects), audiotok
refuses it and names the explicit opt-in:
``python -m audiotok.codecs.pickle_convert dac SRC --allow-pickle`` converts it once, unpickling
it, into ``SRC.safetensors`` + ``SRC.json`` (the kwargs and the sha256 of the source file),
which ``--weights SRC.safetensors`` then loads without pickle.
DAC does not publish checksums; the registry records none, and the sha256 of the file used
goes into the token store's spec.
"""

from __future__ import annotations

import json
from typing import Any

from audiotok.codecs.pickle_convert import load_weights_only
from audiotok.errors import AudiotokError

CONFIG_KEYS = (
    "encoder_dim",
    "encoder_rates",
    "latent_dim",
    "decoder_dim",
    "decoder_rates",
    "n_codebooks",
    "codebook_size",
    "codebook_dim",
    "sample_rate",
)


def _kwargs(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: raw[k] for k in CONFIG_KEYS if k in raw and raw[k] is not None}


def load(entry: Any, override: str | None) -> tuple[dict, dict[str, Any], str, str]:
    """(state dict, constructor kwargs, sha256, path) of a DAC checkpoint."""

    from audiotok import weights as W

    path, sha = W.resolve(entry, entry.files[0], override=override)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        cfg_path = path.with_suffix(".json")
        if not cfg_path.is_file():
            raise AudiotokError(f"{path} needs its configuration {cfg_path} next to it")
        cfg = json.loads(cfg_path.read_text())
        return load_file(str(path)), _kwargs(cfg.get("kwargs", {})), sha, str(path.resolve())
    ckpt = load_weights_only(path, "dac")
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise AudiotokError(f"{path} is not a DAC checkpoint (no 'state_dict' entry)")
    kwargs = _kwargs(ckpt.get("metadata", {}).get("kwargs", {}))
    return ckpt["state_dict"], kwargs, sha, str(path.resolve())
