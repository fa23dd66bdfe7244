"""Decoding stores and unit files, the token check, the unit error rate, import hygiene."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from audiotok import open_tokens
from audiotok.errors import AudiotokError


@pytest.fixture
def store_vocoder(unit_store, tiny_vocoder, tmp_path):
    """A tiny vocoder whose config says it was trained on ``unit_store``'s tokens, saved."""
    from audiotok.vocoders.config import spec_identity
    from audiotok.vocoders.loading import save

    store = open_tokens(str(unit_store))
    voc = tiny_vocoder(
        num_units=100,
        frame_rate=100,
        duration_predictor=True,
        tokens=spec_identity(store.spec),
        codebook_sha256=store.spec.params["codebook_sha256"],
    )
    save(voc, tmp_path / "voc")
    return store, voc, tmp_path / "voc"


def test_decode_store_writes_exact_lengths(store_vocoder, tmp_path):
    from audiotok.decoding import decode_store
    from audiotok.vocoders import load

    store, _, folder = store_vocoder
    voc = load(str(folder))
    n = decode_store(store, voc, tmp_path / "wavs", batch_frames=500)
    assert n == len(store) == 14
    for utt, codes in store:
        units = np.asarray(codes).reshape(-1)
        data, sr = sf.read(tmp_path / "wavs" / f"{utt}.wav", dtype="float32")
        assert sr == 16000 and len(data) == len(units) * 160
    utt, codes = next(iter(store))
    alone, _ = voc.decode(torch.from_numpy(np.asarray(codes).reshape(-1).astype(np.int64)))
    data, _ = sf.read(tmp_path / "wavs" / f"{utt}.wav", dtype="float32")
    assert np.abs(data - alone[0].numpy()).max() <= 1.5 / 32768  # 16-bit files


def test_decode_store_dedup_follows_predicted_durations(store_vocoder, tmp_path):
    from audiotok.decoding import decode_store
    from audiotok.vocoders.resynth import dedup

    store, voc, _ = store_vocoder
    decode_store(store, voc, tmp_path / "d", dedup=True, ids=["spk0/utt00", "spk1/utt05"])
    for utt in ("spk0/utt00", "spk1/utt05"):
        got = store.get(utt)  # [K, T'] array (older stores: a row dict)
        codes = got["codes"] if isinstance(got, dict) else got
        d = torch.from_numpy(dedup(np.asarray(codes).reshape(-1)).astype(np.int64))
        with torch.inference_mode():
            frames = int(voc.predict_durations(d[None], torch.tensor([len(d)])).sum())
        assert sf.info(str(tmp_path / "d" / f"{utt}.wav")).frames == frames * 160
    assert len(list((tmp_path / "d").rglob("*.wav"))) == 2


def test_tokens_of_another_codebook_are_refused(store_vocoder):
    from audiotok.vocoders import check_tokens
    from audiotok.vocoders.config import VocoderConfig

    store, voc, _ = store_vocoder
    check_tokens(voc, store.spec)  # its own tokens pass
    voc.check_tokens(store.spec, store.recipe.to_dict() if store.recipe else None)
    other = VocoderConfig(num_units=100, frame_rate=100, codebook_sha256="ab" * 32)
    sha = store.spec.params["codebook_sha256"]
    with pytest.raises(AudiotokError, match=rf"{sha[:12]}.*abababababab") as e:
        check_tokens(other, store.spec)
    assert "mfcc-km100" in str(e.value)
    with pytest.raises(AudiotokError, match="100 units != 500"):
        check_tokens(VocoderConfig(num_units=500, frame_rate=100), store.spec)
    with pytest.raises(AudiotokError, match="100 Hz != 50 Hz"):
        check_tokens(VocoderConfig(num_units=100, frame_rate=50), store.spec)
    recipe = {"name": "mfcc-km100", "options": {"layer": 3}}
    trained = VocoderConfig(
        num_units=100, frame_rate=100, tokenizer={"name": "mfcc-km100", "options": {}}
    )
    with pytest.raises(AudiotokError, match="recipe layer 3 != None"):
        check_tokens(trained, store.spec, recipe)
    from audiotok.decoding import decode_store

    other_voc = voc.__class__(other).eval()
    with pytest.raises(AudiotokError, match="not the tokens this vocoder was trained on"):
        decode_store(store, other_voc, "/nonexistent/never-written")


def test_unit_files(tmp_path, store_vocoder):
    from audiotok.decoding import decode_unit_file
    from audiotok.vocoders import read_unit_file

    plain = tmp_path / "plain.txt"
    plain.write_text("1 2 2 3\n\n4 5\n")
    assert [(u, x.tolist()) for u, x in read_unit_file(plain)] == [
        ("000001", [1, 2, 2, 3]),
        ("000003", [4, 5]),
    ]
    bar = tmp_path / "gslm.txt"
    bar.write_text("spk/a|7 7 8\nb|9\n")
    assert [u for u, _ in read_unit_file(bar)] == ["spk/a", "b"]
    tab = tmp_path / "tab.tsv"
    tab.write_text("x\t1 2\ny\t3\n")
    assert [x.tolist() for _, x in read_unit_file(tab)] == [[1, 2], [3]]
    for text, message in (
        ("a|1 x\n", "integer units"),
        ("a|1\na|2\n", "appears twice"),
        ("a|-1\n", "negative"),
    ):
        bad = tmp_path / "bad.txt"
        bad.write_text(text)
        with pytest.raises(AudiotokError, match=message):
            read_unit_file(bad)
    _, voc, _ = store_vocoder
    assert decode_unit_file(bar, voc, tmp_path / "out") == 2
    assert sf.info(str(tmp_path / "out" / "spk" / "a.wav")).frames == 3 * 160


def test_unit_error_rate_known_answers():
    from audiotok.vocoders import unit_error_rate
    from audiotok.vocoders.resynth import edit_distance

    assert unit_error_rate([1, 1, 2, 3], [1, 2, 2, 3]) == 0.0  # deduplicated: 1 2 3 both
    assert unit_error_rate([1, 1, 2, 3], [1, 2, 2, 3], dedup_units=False) == 0.25
    assert unit_error_rate([1, 2, 3], [1, 3]) == pytest.approx(1 / 3)  # one deletion
    assert unit_error_rate([1, 2], [1, 2, 5, 6]) == 1.0  # two insertions over 2 units
    assert edit_distance([4, 5, 6], [6, 5, 4]) == 2 and edit_distance([], [1, 2]) == 2
    with pytest.raises(ValueError):
        unit_error_rate([], [1])


def test_inference_path_loads_no_training_code(store_vocoder, tmp_path):
    _, _, folder = store_vocoder
    script = f"""
import sys
import audiotok.vocoders as V
assert "torch" not in sys.modules, "import audiotok.vocoders imported torch"
import torch
voc = V.load({str(folder)!r})
voc.decode(torch.tensor([[1, 2, 3, 4]]))
out = __import__("pathlib").Path({str(tmp_path)!r})
from audiotok.decoding import decode_units
decode_units([("a", [1, 2, 3])], voc, lambda u: out / (u + ".wav"))
bad = [m for m in sys.modules if m.startswith(("audiotok.train", "audiotok.vocoders.train"))]
print("LOADED", bad)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "LOADED []" in r.stdout
