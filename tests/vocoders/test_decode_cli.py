"""`audiotok decode` with a unit vocoder (stores and unit files) and `audiotok eval resynth`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from audiotok import open_tokens
from audiotok.cli.app import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


@pytest.fixture
def saved_vocoder(unit_store, tiny_vocoder, tmp_path):
    from audiotok.vocoders.config import spec_identity
    from audiotok.vocoders.loading import save

    store = open_tokens(str(unit_store))
    voc = tiny_vocoder(
        num_units=100,
        frame_rate=100,
        duration_predictor=True,
        tokens=spec_identity(store.spec),
        codebook_sha256=store.spec.params["codebook_sha256"],
        tokenizer=store.recipe.to_dict(),
    )
    save(voc, tmp_path / "voc")
    return tmp_path / "voc"


@pytest.mark.slow
def test_decode_semantic_store_needs_and_uses_a_vocoder(
    unit_store, saved_vocoder, tmp_path, capsys
):
    code, _, err = run(["decode", unit_store, "-o", tmp_path / "w"], capsys)
    assert code == 2 and "--vocoder" in err
    code, out, err = run(
        # one torch thread: two on this shared 2-core machine wait on each other (30 s vs 2 s)
        ["decode", unit_store, "-o", tmp_path / "w", "--vocoder", saved_vocoder, "--threads", "1"],
        capsys,
    )
    assert code == 0, err
    store = open_tokens(str(unit_store))
    for utt, codes in store:
        info = sf.info(tmp_path / "w" / f"{utt}.wav")
        assert info.samplerate == 16000 and info.frames == codes.shape[1] * 160
    code, _, err = run(
        ["decode", unit_store, "--id", "spk1/utt03", "-o", tmp_path / "one",
         "--vocoder", saved_vocoder, "--dedup", "--threads", "1"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert [p.name for p in (tmp_path / "one").rglob("*.wav")] == ["utt03.wav"]


def test_decode_a_unit_file(saved_vocoder, tmp_path, capsys):
    units = tmp_path / "units.txt"
    units.write_text("a|1 1 2 3 5 8 13 21\nb|4 4 4 4\n")  # GSLM-style id|units
    code, _, err = run(["decode", units, "-o", tmp_path / "w", "--vocoder", saved_vocoder], capsys)
    assert code == 0, err
    assert sf.info(tmp_path / "w" / "a.wav").frames == 8 * 160
    assert sf.info(tmp_path / "w" / "b.wav").frames == 4 * 160


def test_eval_resynth_scores_and_unit_error_rate(saved_vocoder, tmp_path, capsys):
    from audio_fixtures import speechlike

    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(3):
        sf.write(corpus / f"u{i}.wav", speechlike(1.0 + 0.3 * i, 16000, i), 16000)
    code, out, err = run(
        ["eval", "resynth", corpus, "--vocoder", saved_vocoder, "--json",
         "--metrics", "mel_distance,si_sdr"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["summary"]["files"] == 3 and doc["summary"]["uer"]["n"] == 3
    uer = [f["uer"] for f in doc["files"]]
    assert all(0.0 <= u <= 1.5 for u in uer) and np.isfinite(doc["summary"]["mel_distance"]["mean"])
    # the library returns the numbers the command printed
    from audiotok import eval as E
    from audiotok.eval.unit_resynth import vocoder_and_tokenizer
    from audiotok.pipeline import RunOptions

    voc, tok = vocoder_and_tokenizer(str(saved_vocoder), None, "cpu")
    result = E.resynth(corpus, tok, voc, tmp_path / "work", metrics="mel_distance,si_sdr",
                       options=RunOptions(num_workers=0))  # fmt: skip
    assert result.metrics == ("uer", "mel_distance", "si_sdr") and result.complete
    assert json.loads(json.dumps(result.summary)) == doc["summary"]
    assert [(f.id, f.scores["uer"]) for f in result.files] == [
        (f["id"], f["uer"]) for f in doc["files"]
    ]
    usage = result.unit_usage["mfcc-km100"]
    assert len(usage) == 100 and sum(usage) == sum(
        c.shape[1] for _, c in open_tokens(str(tmp_path / "work" / "tokens"))
    )
