"""``audiotok compare`` on a synthetic corpus with exact phone alignments: the shipped
semantic tokenizer, a tiny DAC from a checkpoint the test writes, and a model that does not
exist. One run (slow: about 20 s of CPU); the JSON, the table and the page are checked (the
page in Chromium where it is installed, as the other reports)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from audiotok.cli.app import main

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "codecs"))
sys.path.insert(0, str(Path(__file__).parents[1] / "metrics"))
from abx_synth import phone_corpus  # noqa: E402
from report_browser import Browser, chromium  # noqa: E402
from test_report import NO_CHROMIUM, refs_of  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::UserWarning:audiotok.report")


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    import torch
    from test_weights_cli import _dac_checkpoint

    tmp = tmp_path_factory.mktemp("compare")
    w = tmp / "weights_16khz.pth"
    _dac_checkpoint(w)
    tiny_vocoder(tmp / "voc")
    phone_corpus(tmp / "corpus", tmp / "align")
    argv = ["compare", str(tmp / "corpus"), "--models",
            f"mfcc-km100,dac-16khz:weights={w}:n_codebooks=2,no-such-model",
            "--align", str(tmp / "align"), "--vocoder", str(tmp / "voc"), "-o", str(tmp / "out"),
            "--metrics", "mel_distance,si_sdr"]  # fmt: skip
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two OpenMP threads on a shared 2-core machine wait on each other
    try:
        with pytest.raises(SystemExit) as e:
            main(argv)
    finally:
        torch.set_num_threads(threads)
    return tmp / "out", e.value.code, argv


def tiny_vocoder(folder: Path) -> None:
    """A tiny unit HiFi-GAN with random weights, made for mfcc-km100's units."""
    import torch

    import audiotok
    from audiotok.vocoders.config import VocoderConfig, spec_identity
    from audiotok.vocoders.loading import save
    from audiotok.vocoders.model import Vocoder

    tok = audiotok.load("mfcc-km100")
    torch.manual_seed(0)
    cfg = VocoderConfig(
        num_units=100, frame_rate=100.0, embedding_dim=16, upsample_initial_channel=32,
        resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 3),),
        tokens=spec_identity(tok.spec), codebook_sha256=tok.spec.params["codebook_sha256"],
        tokenizer=tok.recipe.to_dict(),
    )  # fmt: skip
    save(Vocoder(cfg).eval(), folder)


@pytest.mark.slow
def test_compare_json_rows(compared):
    out, code, _ = compared
    assert code == 1  # the missing model; the others are compared
    r = json.loads((out / "compare.json").read_text())
    mfcc, dac, missing = r["tokenizers"]
    assert "unknown model 'no-such-model'" in missing["error"]
    assert mfcc["kind"] == "semantic" and mfcc["codebooks"] == 1 and mfcc["frame_rate"] == 100
    assert mfcc["bitrate_bps"] == pytest.approx(100 * np.log2(100))
    assert dac["kind"] == "acoustic" and dac["codebooks"] == 2
    assert dac["tokens_per_second"] == pytest.approx(2 * dac["frame_rate"])
    for row in (mfcc, dac):
        assert row["utterances"] == 6 and row["encode_realtime"] > 0
        assert row["usage"][0]["used"] > 1 and row["usage"][0]["entropy_bits"] > 0
        assert set(row["abx"]) == {"triphone_within", "triphone_across", "phoneme_within",
                                   "phoneme_across"}  # fmt: skip
        assert len(row["pnmi"]) == row["codebooks"]
    # tones and noise are easy for MFCC units: far better than chance, and phonetic
    assert mfcc["abx"]["phoneme_within"] < 25 and mfcc["pnmi"][0] > 0.3
    assert set(dac["recon"]) == {"mel_distance", "si_sdr"} and "uer" not in dac
    assert np.isfinite(dac["recon"]["mel_distance"])
    # the vocoder is made for mfcc-km100's units: resynthesis, its unit error rate
    assert 0 <= mfcc["uer"] <= 1.5 and set(mfcc["recon"]) == {"mel_distance", "si_sdr"}


@pytest.mark.slow
def test_compare_page(compared):
    out, _, _ = compared
    index = out / "index.html"
    text = index.read_text()
    for s in ("mfcc-km100", "dac-16khz", "no-such-model", "ABX triphone within %", "PNMI",
              "Bitrate and quality", "sortable", "UER"):  # fmt: skip
        assert s in text, s
    refs = [v for _, v in refs_of(index) if not v.startswith(("#", "data:"))]
    assert [v for v in refs if not (out / v).is_file()] == []
    assert sum(v.endswith(".png") for v in refs) >= 2  # bitrate vs ABX, mel, SI-SDR
    # 2 files x (reference, decoded) x (DAC, mfcc-km100 resynthesised)
    assert sum(v.startswith("audio/") for v in refs) == 8
    if chromium() is None:
        pytest.skip(NO_CHROMIUM)
    shot = out.parent / "compare.png"
    with Browser() as b:
        res = b.load(index, screenshot=shot)
    assert res.loaded and res.errors == [], res.errors
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_compare_table(compared, capsys):
    from audiotok.cli.compare_cmd import print_table

    print_table(json.loads((compared[0] / "compare.json").read_text()))
    out = capsys.readouterr().out
    for s in ("mfcc-km100", "no-such-model", "error", "kbit/s", "ABX triphone within %",
              "PNMI codebook 0", "mel distance"):  # fmt: skip
        assert s in out, s


def test_compare_refuses_a_foreign_output_folder(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("x")
    with pytest.raises(SystemExit) as e:
        main(["compare", str(tmp_path), "--models", "mfcc-km100", "-o", str(tmp_path / "out")])
    assert e.value.code == 2
    assert "holds no earlier comparison" in capsys.readouterr().err
