"""Opt-in conversion of a fairseq HuBERT / wav2vec 2.0 ``.pt`` checkpoint to safetensors.

A fairseq checkpoint is a pickle: loading it can run arbitrary code. audiotok unpickles one
only when the user passes ``--allow-pickle`` / ``allow_pickle=True``, converts it once, and
writes the result in Hugging Face layout (``config.json`` + ``model.safetensors``) under
``$AUDIOTOK_HOME/converted/<stem>-<sha256[:16]>/``. Later runs with the same file (same sha256)
use the converted folder and never unpickle again; the folder can also be passed directly.

Key names go fairseq -> torchaudio (torchaudio's own fairseq mapping) -> transformers; the
architecture comes from the checkpoint's ``cfg.model`` (or legacy ``args``), the waveform
normalisation from ``cfg.task.normalize``. Classes the pickle names but this machine lacks
(``fairseq.data.dictionary.Dictionary``) are read as inert stand-ins, so fairseq itself need
not be installed.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import shutil
import tempfile
import types
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError


def converted_dir(path: Path) -> Path:
    from audiotok.weights import cache_root, sha256_file

    return cache_root() / "converted" / f"{path.stem}-{sha256_file(path)[:16]}"


class _Stand(dict):
    """Inert stand-in for a class the pickle names but this machine does not have."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def __setstate__(self, state: Any) -> None:
        self["_state"] = state


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            return type(name, (_Stand,), {})


_PICKLE = types.SimpleNamespace(Unpickler=_Unpickler, load=pickle.load, __name__="pickle")


def convert_file(path: str | Path) -> Path:
    """Unpickle (the caller has the user's opt-in), convert, save; return the HF folder."""
    import torch

    path = Path(path)
    out = converted_dir(path)
    if (out / "config.json").is_file():
        return out
    ckpt = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_PICKLE)  # noqa: S614 - explicit opt-in
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise AudiotokError(f"{path} is not a fairseq checkpoint (no 'model' entry)")
    return convert_checkpoint(ckpt, path)


def _cfg(ckpt: dict) -> tuple[dict, dict]:
    cfg = ckpt.get("cfg")
    if isinstance(cfg, dict) and cfg.get("model") is not None:
        model, task = cfg["model"], cfg.get("task") or {}
    else:
        args = ckpt.get("args")
        if args is None:
            raise AudiotokError(
                "fairseq checkpoint without 'cfg' or 'args': cannot tell its architecture"
            )
        model = task = args if isinstance(args, dict) else dict(vars(args))
    return dict(model), dict(task)


def _conv_layers(spec: str) -> list[tuple[int, ...]]:
    """Evaluate fairseq's conv_feature_layers string ("[(512,10,5)] + [(512,3,2)] * 4") safely:
    (dim, kernel, stride) per layer."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [ev(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            a, b = ev(node.left), ev(node.right)
            return a + b if isinstance(node.op, ast.Add) else a * b
        raise AudiotokError(f"cannot read conv_feature_layers {spec!r}")

    return [tuple(int(x) for x in t) for t in ev(ast.parse(spec, mode="eval"))]


def hf_config_dict(model: dict, task: dict) -> dict[str, Any]:
    name = str(model.get("_name") or model.get("arch") or "hubert")
    model_type = "hubert" if "hubert" in name else "wav2vec2" if "wav2vec" in name else None
    if model_type is None:
        raise AudiotokError(
            f"fairseq model {name!r}: only HuBERT and wav2vec 2.0 checkpoints convert here; for "
            "WavLM and data2vec use the Hugging Face weights"
        )
    conv = _conv_layers(
        str(model.get("conv_feature_layers", "[(512,10,5)] + [(512,3,2)] * 4 + [(512,2,2)] * 2"))
    )
    return {
        "model_type": model_type,
        "feat_extract_norm": "layer" if model.get("extractor_mode") == "layer_norm" else "group",
        "conv_dim": [c[0] for c in conv],
        "conv_kernel": [c[1] for c in conv],
        "conv_stride": [c[2] for c in conv],
        "conv_bias": bool(model.get("conv_bias", False)),
        "hidden_size": int(model.get("encoder_embed_dim", 768)),
        "num_hidden_layers": int(model.get("encoder_layers", 12)),
        "num_attention_heads": int(model.get("encoder_attention_heads", 12)),
        "intermediate_size": int(model.get("encoder_ffn_embed_dim", 3072)),
        "do_stable_layer_norm": bool(model.get("layer_norm_first", False)),
        "num_conv_pos_embeddings": int(model.get("conv_pos", 128)),
        "num_conv_pos_embedding_groups": int(model.get("conv_pos_groups", 16)),
        "audiotok_normalize_waveform": bool(task.get("normalize", False)),
    }


def convert_checkpoint(ckpt: dict, path: str | Path) -> Path:
    from audiotok.extractors.hf_models import (
        load_state_into,
        make_config,
        random_model,
        torchaudio_to_hf,
    )
    from audiotok.optional import import_torchaudio

    path = Path(path)
    out = converted_dir(path)
    if (out / "config.json").is_file():
        return out
    model_cfg, task_cfg = _cfg(ckpt)
    cfg = hf_config_dict(model_cfg, task_cfg)
    importer = import_torchaudio(
        "torchaudio.models.wav2vec2.utils.import_fairseq", "importing a fairseq checkpoint"
    )
    try:
        ta_state = importer._convert_state_dict(ckpt["model"])
    except ValueError as e:
        raise AudiotokError(
            f"{path}: not a HuBERT / wav2vec 2.0 fairseq checkpoint ({e})"
        ) from None
    config = make_config(cfg)
    model = load_state_into(
        random_model(config), torchaudio_to_hf(ta_state, cfg["model_type"]), str(path)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=".tmp-"))
    try:
        model.save_pretrained(str(tmp), safe_serialization=True)
        (tmp / "audiotok_source.json").write_text(
            json.dumps({"converted_from": str(path), "source_sha256": out.name.rsplit("-", 1)[1]})
        )
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
