"""Fuzzed text formats users hand over: manifests (.tsv, fairseq .tsv, .jsonl), unit files
(fairseq, GSLM ``id|units``, ``id<TAB>units``) and vocabulary specs (JSON)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from harness import Reader

from audiotok.corpus import check_id, read_manifest
from audiotok.feed.vocab import VocabSpec
from audiotok.spec import TokenSpec
from audiotok.vocoders.units_file import read_unit_file

MANIFESTS = {
    "manifest-tsv": ("m.tsv", b"id\tpath\tspeaker\nspk1/u1\ta/u1.wav\tA\nu2\tb/u2.flac\tB\n"),
    "manifest-tsv-plain": ("p.tsv", b"a/u1.wav\nb/u2.wav\t17\n"),
    "manifest-fairseq": ("f.tsv", b"audio\nu1.wav\t16000\nsub/u2.wav\t32000\n"),
    "manifest-jsonl": (
        "m.jsonl",
        b'{"path": "a/u1.wav", "id": "spk/u1"}\n{"audio_filepath": "u2.wav", "id": 7}\n'
        b'{"path": "/abs/u3.wav"}\n',
    ),
}


def _items_are_safe(items) -> None:
    for it in items:
        assert check_id(it.id) is None, it.id  # ids become output paths
        assert Path(it.path).is_absolute()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MANIFESTS))
def test_fuzzed_manifests(tmp_path, run_fuzz, name):
    file, seed = MANIFESTS[name]
    (tmp_path / "audio").mkdir()  # the fairseq root line names an existing folder
    target = tmp_path / file
    kind = "text"
    run_fuzz(
        Reader(
            name,
            kind,
            [seed],
            target,
            lambda: read_manifest(target),
            names=(str(target),),
            check=_items_are_safe,
        )
    )


UNITS = b"12 12 7 7 3 0 99\n5 5 5 6\n"
UNITS_GSLM = b"spk1/u1|12 12 7 7 3\nu2|1 2 3\n\nu3\t4 4 4 1\n"


def _units_ok(rows) -> None:
    for utt, units in rows:
        assert utt and units.dtype == np.int64 and units.ndim == 1 and (units >= 0).all()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "seed"), [("units-fairseq", UNITS), ("units-gslm", UNITS_GSLM)])
def test_fuzzed_unit_files(tmp_path, run_fuzz, name, seed):
    target = tmp_path / "units.txt"
    run_fuzz(
        Reader(
            name,
            "text",
            [seed],
            target,
            lambda: read_unit_file(target),
            names=(str(target),),
            check=_units_ok,
        )
    )


SEM = TokenSpec("semantic", "hubert-km500", 16000, 50.0, 1, 500, layer=6)
ACU = TokenSpec("acoustic", "encodec-24khz", 24000, 75.0, 2, 1024)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["shared", "separate"])
def test_fuzzed_vocab_specs(tmp_path, run_fuzz, layout):
    spec = VocabSpec.build([SEM, ACU], layout=layout, markers=True, delays="musicgen")
    seed = spec.save(tmp_path / "seed.json").read_bytes()
    target = tmp_path / "vocab.json"

    def check(v: VocabSpec) -> None:
        assert isinstance(v, VocabSpec) and v.vocab_size >= 1
        v.validate()

    run_fuzz(
        Reader(
            f"vocab-{layout}",
            "json",
            [seed],
            target,
            lambda: VocabSpec.load(target),
            names=(str(target),),
            check=check,
        )
    )
