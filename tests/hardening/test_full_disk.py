"""A full disk is the user's problem, said in one line, never "a bug in audiotok" (#25).

Each writer writes onto a real full file system (a tiny tmpfs, see the ``full_disk`` fixture):
stores (encode), exports, audio (decode, reports), training checkpoints."""

from __future__ import annotations

import errno

import numpy as np
import pytest
import torch

from audiotok.cli.app import run
from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec
from audiotok.store import TokenWriter


def _user_error(e: BaseException) -> bool:
    """What the CLI prints as one line with exit 2."""
    return isinstance(e, AudiotokError) or (
        isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)
    )


def _only_filler(disk):
    return sorted(p.name for p in disk.rglob("*") if p.is_file()) == ["filler"]


def test_audio_write(full_disk):
    from audiotok import audio

    with pytest.raises(AudiotokError, match="no space left"):
        audio.write(str(full_disk / "out" / "a.wav"), np.zeros(16000, np.float32), 16000)
    assert _only_filler(full_disk)  # no truncated wav, no temporary file


def test_training_checkpoint(full_disk):
    from audiotok.train import checkpoint

    big = torch.nn.Linear(300, 300)  # 360 kB of weights: more than the disk
    with pytest.raises(BaseException) as e:
        checkpoint.save(full_disk / "ckpt", 1, {"gen": big}, {"opt": {"x": torch.zeros(9000)}})
    assert _user_error(e.value), repr(e.value)
    assert _only_filler(full_disk) and checkpoint.list_steps(full_disk / "ckpt") == []


def test_torch_state_on_a_full_disk_is_a_user_error(full_disk):
    from audiotok.train import checkpoint

    with pytest.raises(AudiotokError, match="no space left"):  # only state.pt is big
        checkpoint.save(full_disk / "c", 1, {}, {"opt": {"x": torch.zeros(90000)}})


def _store(path):
    spec = TokenSpec("semantic", "x-km50", 16000, 50.0, 1, 50, layer=6, weights_sha256="ab")
    w = TokenWriter(path, spec)
    for i in range(20):
        w.add(f"u{i}", f"u{i}.wav", 1.0, np.random.default_rng(i).integers(0, 50, (1, 3000)))
    w.close()
    return path


@pytest.mark.parametrize("fmt", ["nanogpt", "megatron", "hf", "fairseq", "webdataset"])
def test_cli_export(full_disk, tmp_path, capsys, fmt):
    store = _store(tmp_path / "tok")
    rc = run(["export", str(store), "--to", fmt, "-o", str(full_disk / "out")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and "space" in err


def test_cli_encode(full_disk, small_corpus, capsys):
    rc = run(["encode", str(small_corpus), "-o", str(full_disk / "tok"), "-q",
              "--num-workers", "0"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.strip().splitlines()[-1].startswith("error:") and "space" in err


def test_report_audio(full_disk, tmp_path, make_wav):
    from audiotok.report import write_report

    make_wav("r/a.wav", 1.0, 16000, seed=1, subtype="FLOAT")  # not copied: re-encoded
    with pytest.raises(BaseException) as e:
        write_report(full_disk / "rep", title="t",
                     files=[{"id": "a", "reference": str(tmp_path / "r" / "a.wav")}])  # fmt: skip
    assert _user_error(e.value), repr(e.value)
