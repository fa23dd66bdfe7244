"""Everything audiotok writes follows the umask, safetensors included (#25): safetensors
itself creates 0600 files, which hid codebooks, vocoders and checkpoints from a group."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from audiotok.spec import TokenSpec
from audiotok.store import TokenWriter


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in root.rglob("*")
        if p.is_file()
    }


def _assert_follow(root: Path, mask: int) -> None:
    modes = _modes(root)
    assert modes, "nothing was written"
    bad = {n: oct(m) for n, m in modes.items() if m != 0o666 & ~mask}
    assert not bad, f"not {oct(0o666 & ~mask)}: {bad}"


def test_codebook(tmp_path, umask):
    from audiotok.kmeans.codebook import Codebook

    Codebook(torch.zeros(4, 3)).save(tmp_path / "km.safetensors")
    _assert_follow(tmp_path, umask)


def test_vocoder_folder(tmp_path, umask):
    from audiotok.vocoders.config import VocoderConfig
    from audiotok.vocoders.loading import save
    from audiotok.vocoders.model import Vocoder

    cfg = VocoderConfig(num_units=10, frame_rate=100.0, embedding_dim=8,
                        upsample_initial_channel=16, resblock_kernel_sizes=(3,),
                        resblock_dilation_sizes=((1,),))  # fmt: skip
    save(Vocoder(cfg), tmp_path / "voc")
    _assert_follow(tmp_path, umask)


def test_hybrid_student(tmp_path, umask):
    from audiotok.codecs.speechtokenizer_model import HybridCodecConfig
    from audiotok.codecs.speechtokenizer_student import new_student, save_student

    tiny = dict(strides=[8, 8, 5, 4], n_filters=2, dimension=8, semantic_dimension=39,
                codebook_size=16, n_q=3, kmeans_iters=5, teacher="mfcc", teacher_layer="0",
                teacher_recipe={"name": "mfcc", "options": {}})  # fmt: skip
    save_student(new_student(HybridCodecConfig(**tiny)), tmp_path / "st")
    _assert_follow(tmp_path, umask)


def test_training_checkpoint(tmp_path, umask):
    from audiotok.train import checkpoint

    checkpoint.save(tmp_path, 3, {"gen": torch.nn.Linear(2, 2)}, {"note": 1})
    _assert_follow(tmp_path, umask)


def test_token_store(tmp_path, umask):
    spec = TokenSpec("semantic", "x", 16000, 50.0, 1, 50, layer=6)
    w = TokenWriter(tmp_path / "s", spec)
    w.add("a", "a.wav", 0.1, np.zeros((1, 3), int))
    w.close()
    _assert_follow(tmp_path, umask)


def test_save_safetensors_is_atomic_and_loadable(tmp_path, umask):
    from safetensors.torch import load_file

    from audiotok.store.files import save_safetensors

    save_safetensors({"w": torch.arange(3.0)}, tmp_path / "x.safetensors", {"k": "v"})
    assert torch.equal(load_file(tmp_path / "x.safetensors")["w"], torch.arange(3.0))
    assert [p.name for p in tmp_path.iterdir()] == ["x.safetensors"]
    _assert_follow(tmp_path, umask)
