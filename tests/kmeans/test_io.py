"""Import/export: .npy, faiss indexes, pickled km.bin only with the opt-in flag."""

from __future__ import annotations

import sys

import joblib
import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans

from audiotok.errors import AudiotokError, SpecMismatchError, UnsafeCheckpointError
from audiotok.kmeans import Codebook, load
from audiotok.kmeans.io import export_codebook, import_codebook


@pytest.fixture
def codebook():
    rng = np.random.default_rng(0)
    c = torch.from_numpy(rng.standard_normal((16, 8)).astype(np.float32))
    return Codebook(c, {"extractor": "hubert-base-ls960", "layer": 6, "normalize": "none"})


def test_safetensors_roundtrip_keeps_header(tmp_path, codebook):
    codebook.meta["usage"] = list(range(16))
    codebook.save(tmp_path / "km.safetensors")
    cb = load(tmp_path / "km.safetensors")
    assert torch.equal(cb.centroids, codebook.centroids)
    assert cb.meta["layer"] == 6 and cb.meta["usage"] == list(range(16)) and cb.meta["k"] == 16
    assert len(cb.sha256) == 64


@pytest.mark.parametrize("suffix", [".npy", ".index"])
def test_export_import_roundtrip(tmp_path, codebook, suffix):
    out = export_codebook(codebook, tmp_path / f"c{suffix}")
    cb = import_codebook(out, meta={"extractor": "hubert-base-ls960", "layer": 6})
    assert torch.equal(cb.centroids, codebook.centroids)
    assert cb.meta["imported_from"]["format"] in ("npy", "faiss")
    x = torch.randn(100, 8)
    assert torch.equal(cb.assign(x), codebook.assign(x))


def test_faiss_index_written_by_faiss_is_read(tmp_path, codebook):
    import faiss

    index = faiss.IndexFlatL2(8)
    index.add(codebook.centroids.numpy())
    faiss.write_index(index, str(tmp_path / "km.faiss"))
    assert torch.equal(import_codebook(tmp_path / "km.faiss").centroids, codebook.centroids)


def test_pickle_refused_without_flag_converted_with_it(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 5)).astype(np.float32)
    km = KMeans(n_clusters=7, n_init=1, random_state=0).fit(x)
    joblib.dump(km, tmp_path / "km.bin")  # what fairseq's learn_kmeans.py writes
    with pytest.raises(UnsafeCheckpointError, match="--allow-pickle"):
        import_codebook(tmp_path / "km.bin")
    cb = import_codebook(tmp_path / "km.bin", allow_pickle=True)
    np.testing.assert_array_equal(cb.centroids.numpy(), km.cluster_centers_.astype(np.float32))
    np.testing.assert_array_equal(cb.assign(torch.from_numpy(x)).numpy(), km.predict(x))
    cb.save(tmp_path / "km.safetensors")  # converted once; loads with no pickle
    assert load(tmp_path / "km.safetensors").meta["imported_from"]["format"] == "sklearn-pickle"


def test_bad_inputs(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros(5, np.float32))
    with pytest.raises(AudiotokError, match=r"\[k, dim\]"):
        import_codebook(tmp_path / "flat.npy")
    (tmp_path / "c.txt").write_text("1 2")
    with pytest.raises(AudiotokError, match="unknown codebook format"):
        import_codebook(tmp_path / "c.txt")
    (tmp_path / "bad.safetensors").write_text("not safetensors")
    with pytest.raises(AudiotokError, match="not an audiotok codebook"):
        load(tmp_path / "bad.safetensors")


def test_model_or_layer_mismatch_names_both(codebook):
    codebook.check_features("hubert-base-ls960", 6)
    with pytest.raises(
        SpecMismatchError, match=r"'hubert-base-ls960' layer 6.*'wavlm-large' layer 6"
    ):
        codebook.check_features("wavlm-large", 6)
    with pytest.raises(SpecMismatchError, match=r"layer 6.*layer 9"):
        codebook.check_features("hubert-base-ls960", 9)


@pytest.mark.parametrize("missing", ["joblib", "sklearn"])
def test_km_bin_without_its_packages_names_the_extra(tmp_path, monkeypatch, missing):
    (tmp_path / "km.bin").write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, missing, None)  # import fails as if not installed
    with pytest.raises(AudiotokError, match=rf"needs {missing}: pip install 'audiotok\[sklearn\]'"):
        import_codebook(tmp_path / "km.bin", allow_pickle=True)
