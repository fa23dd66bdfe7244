"""audiotok kmeans train / eval / import / export on small features the tests write."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pytest
from sklearn.cluster import KMeans

from audiotok.cli.app import main
from audiotok.kmeans import load


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


@pytest.fixture
def fairseq_feats(tmp_path):
    """A fairseq-style dump: 40 utterances of 3-blob features, with a manifest for the ids."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 6)).astype(np.float32) * 8
    lens = rng.integers(10, 30, size=40)
    phones = [rng.integers(0, 3, size=n) for n in lens]
    x = np.concatenate(
        [centres[p] + rng.standard_normal((len(p), 6)).astype(np.float32) * 0.1 for p in phones]
    )
    root = tmp_path / "feats"
    root.mkdir()
    np.save(root / "train_0_1.npy", x)
    (root / "train_0_1.len").write_text("\n".join(map(str, lens)))
    (root / "train.tsv").write_text("/audio\n" + "".join(f"u{i}.wav\t100\n" for i in range(40)))
    align = tmp_path / "align"
    align.mkdir()
    for i, p in enumerate(phones[:10]):  # phone of frame t = blob of frame t, 50 frames/s
        lines = [f"{t * 0.02:.3f}\t{(t + 1) * 0.02:.3f}\tph{int(v)}\n" for t, v in enumerate(p)]
        (align / f"u{i}.tsv").write_text("".join(lines))
    return root, align


def test_train_then_eval_with_alignments(tmp_path, fairseq_feats, capsys):
    feats, align = fairseq_feats
    km = tmp_path / "km3.safetensors"
    code, out, err = run(
        [
            "kmeans",
            "train",
            str(feats),
            "-k",
            "3",
            "-o",
            str(km),
            "--backend",
            "torch",
            "--extractor",
            "hubert-base-ls960",
            "--layer",
            "6",
            "--frame-rate",
            "50",
            "--max-memory-gb",
            "0.001",
            "--seed",
            "3",
        ],
        capsys,
    )
    assert code == 0, err
    assert "budget 0.001 GB" in err and "wrote" in out
    cb = load(km)
    assert cb.k == 3 and cb.meta["extractor"] == "hubert-base-ls960" and cb.meta["layer"] == 6
    assert cb.meta["backend"] == "torch" and cb.meta["seed"] == 3 and cb.meta["frame_rate"] == 50
    assert sum(cb.meta["usage"]) == cb.meta["num_samples"] <= 0.001e9 / (4 * 6 + 8)
    plot = tmp_path / "usage.png"
    # window 0: frame t's centre is t * 0.02, inside the alignment segment of frame t
    code, out, err = run(
        [
            "kmeans",
            "eval",
            str(km),
            str(feats),
            "--align",
            str(align),
            "--json",
            "--plot",
            str(plot),
            "--window-s",
            "0",
        ],
        capsys,
    )
    assert code == 0, err
    r = json.loads(out)
    assert r["utterances"] == 40 and r["aligned_utterances"] == 10 and r["dead"] == 0
    assert r["pnmi"] == pytest.approx(1.0) and r["phone_purity"] == pytest.approx(1.0)
    assert r["bitrate_bps"] == pytest.approx(50 * r["entropy_bits"])
    assert plot.stat().st_size > 1000
    code, out, _ = run(["kmeans", "eval", str(km), str(feats)], capsys)
    assert code == 0 and "PNMI" not in out and "bitrate" in out and "unit entropy" in out


def test_train_from_audio_and_layer_mismatch(tmp_path, small_corpus, capsys):
    km = tmp_path / "mfcc8.safetensors"
    code, out, err = run(
        [
            "kmeans",
            "train",
            str(small_corpus),
            "--model",
            "mfcc",
            "-k",
            "8",
            "-o",
            str(km),
            "--max-hours",
            "0.001",
            "--niter",
            "5",
        ],
        capsys,
    )
    assert code == 0, err
    cb = load(km)
    assert cb.meta["extractor"] == "mfcc" and cb.dim == 39
    assert cb.meta["num_samples"] <= 0.001 * 3600 * 100  # --max-hours bounds the sample
    code, out, err = run(["kmeans", "eval", str(km), str(small_corpus)], capsys)
    assert code == 0, err
    cb.meta.update(extractor="hubert-base-ls960", layer=6)
    cb.save(km)
    code, out, err = run(["kmeans", "eval", str(km), str(small_corpus), "--model", "mfcc"], capsys)
    assert code == 2 and "'hubert-base-ls960' layer 6" in err and "'mfcc' layer None" in err


def test_import_export_cli(tmp_path, capsys):
    rng = np.random.default_rng(2)
    km = KMeans(n_clusters=4, n_init=1, random_state=0).fit(rng.standard_normal((50, 3)))
    joblib.dump(km, tmp_path / "km.bin")
    out = tmp_path / "km.safetensors"
    code, _, err = run(["kmeans", "import", str(tmp_path / "km.bin"), "-o", str(out)], capsys)
    assert code == 2 and "--allow-pickle" in err and not out.exists()
    code, _, err = run(
        [
            "kmeans",
            "import",
            str(tmp_path / "km.bin"),
            "-o",
            str(out),
            "--allow-pickle",
            "--extractor",
            "mfcc",
        ],
        capsys,
    )
    assert code == 0, err
    assert load(out).meta["extractor"] == "mfcc"
    code, _, err = run(["kmeans", "export", str(out), "-o", str(tmp_path / "c.npy")], capsys)
    assert code == 0, err
    np.testing.assert_array_equal(
        np.load(tmp_path / "c.npy"), km.cluster_centers_.astype(np.float32)
    )


def test_train_on_audiotok_extract_output_and_tokenize(tmp_path, small_corpus, capsys):
    import torch

    from audiotok.semantic import build

    feats = tmp_path / "feats"
    code, _, err = run(
        ["extract", str(small_corpus), "-o", str(feats), "--num-workers", "0", "-q"], capsys
    )
    assert code == 0, err
    km = tmp_path / "km.safetensors"
    code, _, err = run(
        ["kmeans", "train", str(feats), "-k", "6", "-o", str(km), "--niter", "5"], capsys
    )
    assert code == 0, err
    cb = load(km)
    assert cb.meta["extractor"] == "mfcc" and cb.meta["layer"] is None
    assert cb.meta["frame_rate"] == 100 and cb.dim == 39
    code, out, err = run(["kmeans", "eval", str(km), str(feats), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["utterances"] == 6
    tok = build(extractor="mfcc", codebook=str(km))  # the semantic tokenizer uses it
    wav = torch.randn(1, 1, 16000) * 0.1
    codes, lens = tok.encode_batch(wav, torch.tensor([16000]))
    assert codes.shape[1] == 1 and int(codes.max()) < 6
