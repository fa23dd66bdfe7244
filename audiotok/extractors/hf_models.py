"""Building the transformers model behind an S3M extractor: from a Hugging Face directory, a
weights file (HF or torchaudio key names), or random weights of a named architecture.

Everything is read without unpickling: safetensors, or ``torch.load(weights_only=True)``
(transformers >= 5 loads ``pytorch_model.bin`` that way too). A fairseq ``.pt`` is a pickle and
goes through :mod:`audiotok.extractors.fairseq_convert` only with ``allow_pickle=True``.
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
    try:
        return AutoModel.from_pretrained(str(p), local_files_only=True).eval()
    except (OSError, ValueError, RuntimeError, __import__("pickle").UnpicklingError) as e:
        from audiotok.errors import UnsafeCheckpointError

        raise UnsafeCheckpointError(
            f"{p} is not a loadable Hugging Face model folder ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:160]}); check that the weights file matches its name "
            "(pytorch_model.bin is a torch file, model.safetensors a safetensors file)"
        ) from None


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


def from_state_file(path: Path, config, allow_pickle: bool = False):
    """A weights file (HF or torchaudio keys; fairseq with ``allow_pickle``) into ``config``'s
    architecture. Returns (model, path of the weights actually read)."""
    from audiotok.errors import UnsafeCheckpointError
    from audiotok.weights import load_state_dict

    try:
        state = load_state_dict(path)
    except UnsafeCheckpointError as e:
        from audiotok.extractors import fairseq_convert

        if not allow_pickle:
            raise UnsafeCheckpointError(
                f"{path} is a pickled checkpoint (fairseq/unilm style), which can run code when "
                "loaded. If you trust it, pass --allow-pickle (allow_pickle=True): audiotok "
                "converts it once to safetensors in Hugging Face layout and never unpickles it "
                "again"
            ) from e
        out_dir = fairseq_convert.convert_file(path)
        return from_hf_dir(out_dir), weights_in_dir(out_dir)
    if "model" in state and isinstance(state["model"], dict):  # a fairseq dict read safely
        from audiotok.extractors import fairseq_convert

        out_dir = fairseq_convert.convert_checkpoint(state, path)
        return from_hf_dir(out_dir), weights_in_dir(out_dir)
    if is_torchaudio_state(state):
        state = torchaudio_to_hf(state, config.model_type)
    else:
        state = strip_hf_prefix(state)
    model = random_model(config)
    return load_state_into(model, state, str(path)), path
