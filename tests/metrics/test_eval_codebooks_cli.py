"""`audiotok eval codebooks` on a hand-built store with a known answer."""

import json

import numpy as np

from audiotok.cli.app import main
from audiotok.spec import TokenSpec
from audiotok.store import TokenWriter


def test_eval_codebooks_finds_the_phonetic_codebook(tmp_path, capsys):
    rate, phones = 50.0, ["a", "b", "c", "d"]
    spec = TokenSpec("hybrid", "toy", 16000, rate, 3, 64, semantic_codebooks=(0,))
    rng = np.random.default_rng(0)
    w = TokenWriter(tmp_path / "tok", spec)
    (tmp_path / "align").mkdir()
    for u in range(6):
        seg = rng.integers(0, 4, 20)  # 20 phones of 10 frames each
        frames = np.repeat(seg, 10)
        codes = np.stack([frames * 3 + 1, rng.integers(0, 64, 200), np.zeros(200, int)])
        w.add(f"u{u}", f"u{u}.wav", 4.0, codes)
        with open(tmp_path / "align" / f"u{u}.tsv", "w") as f:
            for i, p in enumerate(seg):
                f.write(f"{i * 10 / rate}\t{(i + 1) * 10 / rate}\t{phones[p]}\n")
    w.close()
    try:
        main(["eval", "codebooks", str(tmp_path / "tok"), "--align", str(tmp_path / "align"),
              "--json"])  # fmt: skip
    except SystemExit as e:
        assert e.code == 0
    r = json.loads(capsys.readouterr().out)
    alone = [c["pnmi"] for c in r["codebooks"]]
    assert alone[0] > 0.99 and alone[1] < 0.2 and alone[2] == 0.0
    assert r["prefixes"][0]["pnmi"] > 0.99 and r["semantic_codebooks"] == [0]
