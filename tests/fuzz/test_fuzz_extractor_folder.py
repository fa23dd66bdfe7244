"""Fuzzed Hugging Face extractor folders (``config.json``) through ``audiotok.load(folder,
codebook=...)``: semantic units of a local S3M model, as ``audiotok encode --model DIR``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from harness import Reader

import audiotok
from audiotok.kmeans import Codebook

TINY = {
    "hidden_size": 8,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 8,
    "conv_dim": [4, 4],
    "conv_kernel": [10, 3],
    "conv_stride": [5, 2],
    "num_conv_pos_embeddings": 4,
    "num_conv_pos_embedding_groups": 2,
}


def _hf_folder(root: Path) -> tuple[Path, Path]:
    from audiotok import extractors
    from audiotok.extractors import hf_models

    with torch.random.fork_rng():
        torch.manual_seed(0)
        src = extractors.load("hubert-base-ls960", pretrained=False, config=TINY)
        hf_models.random_model(src.model.config).save_pretrained(root / "m")
    g = torch.Generator().manual_seed(0)
    cb = Codebook(torch.randn(4, TINY["hidden_size"], generator=g), {"layer": 1})
    cb.save(root / "km.safetensors")
    return root / "m", root / "km.safetensors"


@pytest.mark.slow
def test_fuzzed_extractor_folder_config(tmp_path, run_fuzz):
    d, km = _hf_folder(tmp_path)
    target = d / "config.json"

    def check(tok) -> None:
        assert tok.spec.kind == "semantic" and tok.spec.codebook_size == 4

    run_fuzz(
        Reader(
            "extractor-folder-config",
            "json",
            [target.read_bytes()],
            target,
            lambda: audiotok.load(str(d), codebook=str(km), layer=1, device="cpu"),
            names=(str(d),),
            check=check,
        ),
        min_mutants=10,
        model_folder=True,  # transformers builds the model: no build cache here
    )
