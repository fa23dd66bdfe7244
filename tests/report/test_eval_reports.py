"""--html on eval roundtrip and eval codebooks: a folder that opens cleanly, every reference
present (the browser part skips, saying so, where Chromium is not installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiotok.cli.app import main
from audiotok.spec import TokenSpec
from audiotok.store import TokenWriter

from audio_fixtures import speechlike

sys.path.insert(0, str(Path(__file__).parent))
from report_browser import Browser, chromium  # noqa: E402
from test_report import NO_CHROMIUM, refs_of  # noqa: E402


def _run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def _all_refs_exist(index: Path) -> list[str]:
    refs = [v for _, v in refs_of(index) if not v.startswith(("#", "data:"))]
    assert refs, "the report references its images and audio"
    missing = [v for v in refs if not (index.parent / v).is_file()]
    assert missing == []
    return refs


def _open_cleanly(index: Path, shot: Path) -> None:
    if chromium() is None:
        pytest.skip(NO_CHROMIUM)
    with Browser() as b:
        res = b.load(index, screenshot=shot)
    assert res.loaded and res.errors == [], res.errors
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_roundtrip_html_report(tmp_path, capsys):
    sys.path.insert(0, str(Path(__file__).parents[1] / "codecs"))
    from test_weights_cli import _dac_checkpoint

    w = tmp_path / "weights_16khz.pth"
    _dac_checkpoint(w)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        sf.write(corpus / f"u{i}.wav", speechlike(0.6 + 0.2 * i, 16000, i), 16000)
    code, _, err = _run(
        ["eval", "roundtrip", corpus, "--model", "dac-16khz", "--weights", w,
         "--n-codebooks", "2", "--device", "cpu", "--metrics", "mel_distance,si_sdr",
         "--html", tmp_path / "report"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    index = tmp_path / "report" / "index.html"
    text = index.read_text()
    assert "dac-16khz" in text and "n_codebooks" in text  # the recipe
    assert "1000.0 bit/s" in text or "1 kbit/s" in text or "1.0 kbit/s" in text
    refs = _all_refs_exist(index)
    assert sum(r.endswith(".wav") for r in refs) >= 2  # reference and decoded players
    _open_cleanly(index, tmp_path / "roundtrip.png")


def test_codebooks_html_report(tmp_path, capsys):
    rate = 50.0
    spec = TokenSpec("hybrid", "toy", 16000, rate, 2, 32, semantic_codebooks=(0,))
    rng = np.random.default_rng(0)
    w = TokenWriter(tmp_path / "tok", spec)
    (tmp_path / "align").mkdir()
    for u in range(3):
        seg = rng.integers(0, 3, 10)
        codes = np.stack([np.repeat(seg, 10) * 5, rng.integers(0, 32, 100)])
        w.add(f"u{u}", f"u{u}.wav", 2.0, codes)
        (tmp_path / "align" / f"u{u}.tsv").write_text(
            "".join(
                f"{i * 10 / rate}\t{(i + 1) * 10 / rate}\t{'abc'[p]}\n" for i, p in enumerate(seg)
            )
        )
    w.close()
    code, _, err = _run(
        ["eval", "codebooks", tmp_path / "tok", "--align", tmp_path / "align",
         "--html", tmp_path / "report"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    index = tmp_path / "report" / "index.html"
    assert "PNMI" in index.read_text() and "codebook 1" in index.read_text()
    _all_refs_exist(index)
    _open_cleanly(index, tmp_path / "codebooks.png")
