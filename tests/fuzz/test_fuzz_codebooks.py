"""Fuzzed codebooks: audiotok ``.safetensors`` codebooks (header JSON and tensor bytes),
``.npy`` centroids, and fairseq's pickled ``km.bin`` without ``--allow-pickle`` (never read)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from harness import Reader, overwrite

from audiotok.errors import UnsafeCheckpointError
from audiotok.kmeans import Codebook, import_codebook, load

HEADER = b"audiotok_codebook"


def _codebook() -> Codebook:
    g = torch.Generator().manual_seed(0)
    meta = {"extractor": "mfcc", "layer": None, "normalize": "none", "frame_rate": 100.0}
    return Codebook(torch.randn(5, 3, generator=g), meta)


def _usable(cb: Codebook) -> None:
    assert cb.centroids.ndim == 2 and cb.k >= 1 and cb.dim >= 1
    assert torch.isfinite(cb.centroids).all()
    assert isinstance(cb.meta, dict)
    assert cb.assign(torch.zeros(2, cb.dim)).shape == (2,)


@pytest.mark.slow
def test_fuzzed_codebook_safetensors(tmp_path, run_fuzz):
    seed = tmp_path / "seed.safetensors"
    _codebook().save(seed)
    target = tmp_path / "km.safetensors"
    run_fuzz(
        Reader(
            "codebook-safetensors",
            "bytes",
            [seed.read_bytes()],
            target,
            lambda: load(target),
            names=(str(target),),
            check=_usable,
        )
    )


def _header_json_mutants(raw: bytes) -> bytes:
    """The safetensors file with its JSON header re-serialised (so JSON mutations of the
    header, including the codebook's own metadata string, stay a valid safetensors frame)."""
    n = int.from_bytes(raw[:8], "little")
    return raw[8 : 8 + n]


@pytest.mark.slow
def test_fuzzed_codebook_header(tmp_path, run_fuzz):
    """JSON mutations of the safetensors header and of the codebook header inside it."""
    seed = tmp_path / "seed.safetensors"
    _codebook().save(seed)
    raw = seed.read_bytes()
    header = json.loads(_header_json_mutants(raw))
    body = raw[8 + int.from_bytes(raw[:8], "little") :]
    # the codebook header is a JSON string inside the safetensors header: lift it to an
    # object so the JSON mutator reaches its fields, and put it back as a string below
    header["__metadata__"]["audiotok_codebook"] = json.loads(
        header["__metadata__"]["audiotok_codebook"]
    )
    (tmp_path / "framed").mkdir()
    target = tmp_path / "framed" / "km.safetensors"  # written by the call itself
    hdr = tmp_path / "header.json"

    def call() -> Codebook:
        try:
            h = json.loads(hdr.read_bytes())
            m = h["__metadata__"]
            m["audiotok_codebook"] = json.dumps(m["audiotok_codebook"])
            text = json.dumps(h).encode()
        except Exception:  # noqa: BLE001 - not a header the mutator can frame: raw bytes
            text = hdr.read_bytes()
        overwrite(target, len(text).to_bytes(8, "little") + text + body)
        return load(target)

    run_fuzz(
        Reader(
            "codebook-header",
            "json",
            [json.dumps(header).encode()],
            hdr,
            call,
            names=(str(target),),
            check=_usable,
            out=target.parent,
        )
    )


@pytest.mark.slow
def test_fuzzed_npy_centroids(tmp_path, run_fuzz):
    seed = tmp_path / "seed.npy"
    np.save(seed, np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    target = tmp_path / "centroids.npy"
    run_fuzz(
        Reader(
            "codebook-npy",
            "bytes",
            [seed.read_bytes()],
            target,
            lambda: import_codebook(target),
            names=(str(target),),
            check=_usable,
        )
    )


@pytest.mark.slow
def test_fuzzed_km_bin_is_never_unpickled(tmp_path, run_fuzz):
    """Without --allow-pickle every km.bin, valid or not, is refused before it is opened."""
    target = tmp_path / "km.bin"
    seed = pickle.dumps({"cluster_centers_": np.zeros((5, 3), np.float32)})

    def call() -> None:
        try:
            import_codebook(target)
        except UnsafeCheckpointError:
            raise
        raise AssertionError("a km.bin was read without --allow-pickle")

    run_fuzz(Reader("km-bin", "bytes", [seed], target, call, names=(str(target),)))
