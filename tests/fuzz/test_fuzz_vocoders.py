"""Fuzzed vocoder folders (``config.json``, ``model.safetensors``) through
``audiotok.vocoders.load``, and unit files through ``audiotok decode units.txt --vocoder``
(exit 0 with wavs only inside ``-o``, or exit 1/2 with one line; never 3). Equal configs
build the vocoder once (:mod:`build_cache`): thousands of mutants per folder reader."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from build_cache import memo_builds
from harness import Reader

from audiotok.cli.app import run
from audiotok.vocoders import load
from audiotok.vocoders.config import VocoderConfig
from audiotok.vocoders.loading import save
from audiotok.vocoders.model import Vocoder

TINY = {
    "embedding_dim": 4,
    "upsample_initial_channel": 16,
    "resblock_kernel_sizes": (3,),
    "resblock_dilation_sizes": ((1,),),
    "duration_hidden_dim": 4,
}


def _vocoder_folder(root: Path) -> Path:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        cfg = VocoderConfig(num_units=20, frame_rate=100.0, duration_predictor=True, **TINY)
        voc = Vocoder(cfg).eval()
    return save(voc, root / "voc")


def _is_vocoder(v) -> None:
    assert isinstance(v, Vocoder)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "file", "kind"), [
    ("vocoder-config", "config.json", "json"),
    ("vocoder-weights", "model.safetensors", "bytes"),
])  # fmt: skip
def test_fuzzed_vocoder_folder(tmp_path, run_fuzz, name, file, kind):
    d = _vocoder_folder(tmp_path)
    target = d / file
    from audiotok.vocoders import model

    reader = Reader(
        name, kind, [target.read_bytes()], target, lambda: load(d), names=(str(d),),
        check=_is_vocoder,
    )  # fmt: skip
    with memo_builds(model, "Vocoder") as builds:
        run_fuzz(reader, model_folder=True)
    print(builds.line(name))


@pytest.mark.slow
def test_fuzzed_unit_file_cli_decode(tmp_path, run_fuzz, capsys):
    d = _vocoder_folder(tmp_path)
    units = tmp_path / "units.txt"
    out = tmp_path / "wavs"
    seed = b"a|1 1 2 3 5 8 13\nspk/b|4 4 4 4\n7 7 0 19\n"

    def call() -> int:
        capsys.readouterr()
        return run(["decode", str(units), "-o", str(out), "--vocoder", str(d)])

    def check(rc: int) -> None:
        err = capsys.readouterr().err
        assert rc in (0, 1, 2), f"exit {rc}: {err}"
        if rc:
            assert err.count("\n") == 1 and err.startswith("error: "), err

    def reset() -> None:
        for p in sorted(out.rglob("*"), reverse=True) if out.exists() else []:
            p.rmdir() if p.is_dir() else p.unlink()

    # a whole CLI run (load the vocoder, decode, write wavs) per mutant: fewer of them
    reader = Reader("cli-decode-units", "text", [seed], units, call, check=check, out=out,
                    reset=reset)  # fmt: skip
    run_fuzz(reader, min_mutants=10)
