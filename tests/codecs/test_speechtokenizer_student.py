"""Students: architecture at any frame rate, plain or split quantiser, saved as a folder that
loads as a hybrid tokenizer."""

from __future__ import annotations

import json

import pytest
import torch

import audiotok
from audiotok.codecs.speechtokenizer_model import HybridCodecConfig
from audiotok.codecs.speechtokenizer_student import (
    is_student_dir,
    load_student,
    new_student,
    save_student,
)
from audiotok.errors import AudiotokError

from audio_fixtures import speechlike

# 16 kHz at 12.5 Hz (hop 8 * 8 * 5 * 4 = 1280), distilled from a 39-d teacher (MFCC)
TINY = dict(
    strides=[8, 8, 5, 4],
    n_filters=2,
    dimension=8,
    semantic_dimension=39,
    codebook_size=16,
    n_q=3,
    kmeans_iters=5,
    teacher="mfcc",
    teacher_layer="0",
    teacher_recipe={"name": "mfcc", "options": {}},
    teacher_sha256="ab" * 32,
)


def batch(seconds=(0.9, 0.9), seed=0) -> torch.Tensor:
    return torch.stack(
        [torch.from_numpy(speechlike(s, 16000, seed=seed + i)) for i, s in enumerate(seconds)]
    )[:, None]


@pytest.mark.parametrize("split", [False, True])
def test_a_trained_student_saves_and_loads_as_a_hybrid_tokenizer(tmp_path, split):
    model = new_student(HybridCodecConfig(**TINY, split_semantic=split), seed=1)
    x = batch()
    model.train()
    wav, out, feats = model(x)  # the first training step initialises the codebooks
    assert wav.shape == (2, 1, 12 * 1280) and out.codes.shape == (2, 3, 12)
    assert feats.shape == (2, 12, 39)  # codebook 0 projected to the teacher's dimension
    folder = save_student(model.eval(), tmp_path / "st")
    assert is_student_dir(folder) and not is_student_dir(tmp_path)
    saved = json.loads((folder / "config.json").read_text())
    assert saved["teacher"] == "mfcc" and saved["teacher_sha256"] == "ab" * 32
    assert saved["split_semantic"] is split

    tok = audiotok.load(str(folder))  # the factory's rule for model folders
    assert tok.spec.kind == "hybrid" and tok.spec.semantic_codebooks == (0,)
    assert (tok.sample_rate, tok.frame_rate, tok.hop_length) == (16000, 12.5, 1280)
    assert tok.num_codebooks == 3 and tok.codebook_size == 16
    y = x[0, 0, :15000]
    codes = tok.encode(y, 16000)
    with torch.no_grad():
        want = model.vq.encode(model.encoder(y.view(1, 1, -1)))[0]
    assert codes.shape == (3, 12) and torch.equal(codes, want)
    assert len(set(codes[0].tolist())) > 1
    two = load_student(folder, n_codebooks=2)
    assert torch.equal(two.encode(y, 16000), codes[:2])
    assert len(tok.decode(codes)) == 12 * 1280


def test_untrained_or_foreign_folders_are_refused(tmp_path):
    folder = save_student(new_student(HybridCodecConfig(**TINY)), tmp_path / "raw")
    with pytest.raises(AudiotokError, match="never trained"):
        load_student(folder)
    with pytest.raises(AudiotokError, match="not a trained hybrid codec"):
        load_student(tmp_path)
    with pytest.raises(AudiotokError, match="does not take the option"):
        load_student(folder, bandwidth=3.0)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["mystery"] = 1
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(AudiotokError, match="mystery"):
        load_student(folder)
