"""Fuzzed hybrid codec folders (``audiotok hybrid train`` output: ``config.json`` +
``model.safetensors``) through ``audiotok.load(folder)``, the public entry for model folders.
Equal configs build the model once (:mod:`build_cache`): thousands of mutants per reader."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from build_cache import memo_builds
from harness import Reader

import audiotok
from audiotok.codecs.speechtokenizer_student import new_student, save_student

TINY = {
    "n_filters": 2,
    "dimension": 8,
    "semantic_dimension": 4,
    "lstm_layers": 1,
    "codebook_size": 8,
    "n_q": 2,
    "strides": [2, 2],
    "teacher": "mfcc",
}


def _student_folder(root: Path) -> Path:
    with torch.random.fork_rng():
        model = new_student(TINY, seed=0)
    for name, buf in model.named_buffers():
        if name.endswith("inited"):
            buf.fill_(True)  # as after training: codebooks initialised
    return save_student(model, root / "st")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "file", "kind"), [
    ("hybrid-config", "config.json", "json"),
    ("hybrid-weights", "model.safetensors", "bytes"),
])  # fmt: skip
def test_fuzzed_hybrid_folder(tmp_path, run_fuzz, name, file, kind):
    d = _student_folder(tmp_path)
    target = d / file

    def check(tok) -> None:
        assert tok.spec.kind == "hybrid" and tok.spec.num_codebooks >= 1

    from audiotok.codecs import speechtokenizer_model

    reader = Reader(
        name,
        kind,
        [target.read_bytes()],
        target,
        lambda: audiotok.load(str(d), device="cpu"),
        names=(str(d),),
        check=check,
    )
    with memo_builds(speechtokenizer_model, "HybridCodecModel") as builds:
        run_fuzz(reader, model_folder=True)
    print(builds.line(name))
