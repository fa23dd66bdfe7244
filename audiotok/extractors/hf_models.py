"""Building the transformers model behind an S3M extractor: from a Hugging Face directory, a
weights file (HF or torchaudio key names), or random weights of a named architecture.

Everything is read without unpickling: safetensors, or ``torch.load(weights_only=True)``
(transformers >= 5 loads ``pytorch_model.bin`` that way too). A fairseq ``.pt`` is a pickle and
goes through :mod:`audiotok.extractors.fairseq_convert` only with ``allow_pickle=True``, which
builds on this module (``audiotok.extractors.loading`` picks which applies to a file).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError, MissingWeightsError

WEIGHT_NAMES = ("model.safetensors", "pytorch_model.bin")
HF_PREFIXES = ("hubert.", "wav2vec2.", "wavlm.", "data2vec_audio.")
# Keys the HF base model has and a torchaudio/fairseq checkpoint lacks (masking for training).
OPTIONAL_KEYS = ("masked_spec_embed",)


def make_config(arch: dict[str, Any], overrides: dict[str, Any] | None = None):
    """A transformers config from an architecture dict (with ``model_type``) plus overrides."""
    from transformers import AutoConfig

    d = {**arch, **(overrides or {})}
    model_type = d.pop("model_type", None)
    if model_type is None:
        raise AudiotokError("an architecture needs a model_type (hubert, wav2vec2, wavlm, ...)")
    return AutoConfig.for_model(model_type, **d)


def random_model(config, seed: int = 0):
    from transformers import AutoModel

    from audiotok.rng import seeded

    with seeded(seed):
        return AutoModel.from_config(config).eval()


def weights_in_dir(path: Path) -> Path | None:
    for name in WEIGHT_NAMES:
        if (path / name).is_file():
            return path / name
    return None


def from_hf_dir(path: str | Path):
    """``config.json`` + ``model.safetensors`` / ``pytorch_model.bin`` (Hugging Face layout)."""
    from transformers import AutoModel

    p = Path(path).expanduser()
    if not (p / "config.json").is_file():
        raise MissingWeightsError(
            f"{p} holds no config.json (expected a Hugging Face model folder)"
        )
    if weights_in_dir(p) is None:
        raise MissingWeightsError(
            f"{p} holds config.json but no {' or '.join(WEIGHT_NAMES)}; put the weights file there"
        )
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per model load is noise in a corpus run
    _check_size(p)
    try:
        model, info = AutoModel.from_pretrained(
            str(p), local_files_only=True, output_loading_info=True
        )
    except (OSError, ValueError, RuntimeError, __import__("pickle").UnpicklingError) as e:
        from audiotok.errors import UnsafeCheckpointError

        raise UnsafeCheckpointError(
            f"{p} is not a loadable Hugging Face model folder ({_line(e)}); check that the "
            "weights file matches its name (pytorch_model.bin is a torch file, "
            "model.safetensors a safetensors file)"
        ) from None
    except Exception as e:  # noqa: BLE001 - a damaged config.json fails anywhere in transformers
        raise AudiotokError(
            f"{p / 'config.json'} cannot be loaded by transformers ({_line(e)})"
        ) from None
    missing = [k for k in info.get("missing_keys", ()) if not k.endswith(OPTIONAL_KEYS)]
    if missing:  # transformers would leave them random: features from an untrained layer
        raise AudiotokError(
            f"{weights_in_dir(p)} lacks {len(missing)} weights that {p / 'config.json'} "
            f"describes (e.g. {sorted(missing)[0]}): the config and the weights do not match"
        )
    return model.eval()


def _line(e: BaseException) -> str:
    text = " ".join(str(e).split())[:200]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _tensor_count(weights: Path) -> int | None:
    """How many tensors a weights file holds (its header or index only: no data is read);
    None when it cannot be told that way (transformers' own load then says what is wrong)."""
    import torch
    from safetensors import safe_open

    try:
        if weights.suffix == ".safetensors":
            with safe_open(str(weights), framework="pt") as f:
                return len(list(f.keys()))
        return len(torch.load(weights, map_location="meta", weights_only=True, mmap=True))
    except Exception:  # noqa: BLE001 - a damaged file, or a .bin of torch's legacy format
        return None


def _check_counts(p: Path) -> None:
    """Layer counts and per-layer lists of a config cannot exceed the number of tensors in the
    weights (every layer has weights): a damaged count would build billions of layers."""
    import json

    try:
        cfg = json.loads((p / "config.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise AudiotokError(f"cannot read {p / 'config.json'}: {_line(e)}") from None
    if not isinstance(cfg, dict):
        raise AudiotokError(f"{p / 'config.json'} is not a JSON object")
    weights = weights_in_dir(p)
    if weights is None:
        return
    n = _tensor_count(weights)
    if n is None:
        return
    for key, v in cfg.items():
        count = len(v) if isinstance(v, list) else v if "layers" in key else None
        if isinstance(count, int) and not isinstance(count, bool) and count > n:
            raise AudiotokError(
                f"{p / 'config.json'}: {key} asks for {count} layers, more than the "
                f"{n} tensors {weights.name} holds: the config and the weights do not match"
            )


def _check_size(p: Path) -> None:
    """Refuse a config whose model is far larger than the weights file before transformers
    allocates it (a damaged size field would allocate whatever it says): the model is sized
    on the meta device; half-precision checkpoints are half the size of the float32 model,
    so only past 4x the file is it refused."""
    import torch
    from transformers import AutoConfig, AutoModel

    _check_counts(p)
    try:
        config = AutoConfig.from_pretrained(str(p), local_files_only=True)
        with torch.device("meta"):
            model = AutoModel.from_config(config)
    except Exception as e:  # noqa: BLE001 - a damaged config.json fails anywhere in transformers
        raise AudiotokError(
            f"{p / 'config.json'} cannot be loaded by transformers ({_line(e)})"
        ) from None
    size = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    weights = weights_in_dir(p)
    if weights is not None and size > 4 * weights.stat().st_size:
        raise AudiotokError(
            f"{p / 'config.json'} describes a model of {size} bytes, far more than "
            f"{weights.name} holds ({weights.stat().st_size} bytes): the config and the weights "
            "do not match"
        )


def is_torchaudio_state(state: dict) -> bool:
    return any(k.startswith("encoder.transformer.") for k in state)


def torchaudio_to_hf(state: dict, model_type: str) -> dict:
    """torchaudio's wav2vec2/HuBERT/WavLM key names -> transformers' (inverse of torchaudio's
    ``import_huggingface_model``: the module names match once the ``encoder.`` prefix moves)."""
    out: dict = {}
    for k, v in state.items():
        if k.startswith("aux.") or k == "label_embs_concat":
            continue  # CTC head / HuBERT label embeddings: not features
        if k.startswith("encoder.feature_projection."):
            k = k[len("encoder.") :]
        elif k.startswith("encoder.transformer."):
            k = "encoder." + k[len("encoder.transformer.") :]
        k = re.sub(
            r"pos_conv_embed\.conv\.weight_g$",
            "pos_conv_embed.conv.parametrizations.weight.original0",
            k,
        )
        k = re.sub(
            r"pos_conv_embed\.conv\.weight_v$",
            "pos_conv_embed.conv.parametrizations.weight.original1",
            k,
        )
        m = re.match(
            r"(encoder\.layers\.\d+\.attention\.)attention\.(in_proj_weight|in_proj_bias|out_proj\.\w+)$",
            k,
        )
        if m and model_type == "wavlm":
            pre, what = m.groups()
            if what.startswith("in_proj"):
                kind = "weight" if what.endswith("weight") else "bias"
                for name, part in zip(
                    ("q_proj", "k_proj", "v_proj"), v.chunk(3, dim=0), strict=True
                ):
                    out[f"{pre}{name}.{kind}"] = part.clone()
                continue
            k = pre + what
        out[k] = v
    return out


def strip_hf_prefix(state: dict) -> dict:
    for pre in HF_PREFIXES:
        if any(k.startswith(pre) for k in state):
            return {k[len(pre) :]: v for k, v in state.items() if k.startswith(pre)}
    return state


def load_state_into(model, state: dict, source: str):
    """Load converted weights; every model weight must be present (optional masking ones aside)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith(OPTIONAL_KEYS)]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise AudiotokError(
            f"{source} does not match the architecture {model.config.model_type} "
            f"({model.config.num_hidden_layers} layers, hidden {model.config.hidden_size}): "
            f"{detail}; "
            "pass the right --model NAME (or config=...) for these weights"
        )
    bad = [k for k in state if tuple(state[k].shape) != tuple(own[k].shape)]
    if bad:
        raise AudiotokError(
            f"{source}: {bad[0]} has shape {tuple(state[bad[0]].shape)}, the architecture expects "
            f"{tuple(own[bad[0]].shape)}; pass the right --model NAME for these weights"
        )
    model.load_state_dict(state, strict=False)
    return model.eval()
