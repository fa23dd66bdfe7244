"""The smaller items of #25: messages that name the right option, and output for pipes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from audiotok.errors import AudiotokError


def test_models_list_keeps_every_column_in_a_pipe():
    r = subprocess.run([sys.executable, "-m", "audiotok", "models", "list"],
                       capture_output=True, text=True, check=True)  # fmt: skip
    lines = r.stdout.splitlines()
    header = lines[0].split("\t")
    assert header == ["name", "kind", "Hz", "frames/s", "layers", "stream", "weights", "licence",
                      "revision", "check"]  # fmt: skip
    row = next(line.split("\t") for line in lines if line.startswith("mfcc-km100\t"))
    assert len(row) == len(header)
    assert row[2] == "16000" and row[header.index("weights")] == "shipped"


@pytest.mark.slow  # builds the shipped tokenizer (torch, torchaudio imports)
def test_an_acoustic_model():
    from audiotok.factory import tokenizer_for

    with pytest.raises(AudiotokError, match="pick an acoustic model"):
        tokenizer_for("acoustic", "mfcc-km100")


def test_a_missing_vocoder_folder_is_not_an_unknown_model(tmp_path):
    from audiotok.vocoders import load

    with pytest.raises(AudiotokError, match="no such folder") as e:
        load(str(tmp_path / "voc"))
    assert "unknown model" not in str(e.value)


def test_teacher_layer_errors_name_teacher_layer(small_corpus, tmp_path):
    from audiotok.train.hybrid import train_hybrid
    from audiotok.train.hybrid_config import HybridTrainConfig, Teacher

    cfg = HybridTrainConfig(
        inputs=[str(small_corpus)], output=str(tmp_path / "h"), teacher=Teacher("mfcc", "3")
    )
    with pytest.raises(AudiotokError) as e:
        train_hybrid(cfg)
    assert "--teacher-layer" in str(e.value) and "--layer" not in str(e.value).replace(
        "--teacher-layer", ""
    )


def test_a_missing_utterance_names_the_cli_option():
    import numpy as np

    from audiotok.feed.align import JoinedSource
    from audiotok.feed.source import InMemorySource
    from audiotok.spec import TokenSpec

    a = TokenSpec("semantic", "a", 16000, 50.0, 1, 50, layer=6)
    b = TokenSpec("acoustic", "b", 24000, 75.0, 2, 64)
    sa = InMemorySource(a, {"u1": np.zeros((1, 5), int), "u2": np.zeros((1, 5), int)})
    sb = InMemorySource(b, {"u1": np.zeros((2, 8), int)})
    with pytest.raises(AudiotokError, match="--skip-missing"):
        JoinedSource([sa, sb])
