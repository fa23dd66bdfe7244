"""Feature store: what ``audiotok extract`` writes and ``audiotok kmeans train`` reads.

Layout of a feature directory::

    manifest.json             header + committed shards + errors (see below)
    shard-000000.tsv          id, path, num_samples, num_frames (tab-separated), one row per utt
    L6/shard-000000.npy       float16 [sum of num_frames, dim]: the utterances' frames, concatenated
    L12/shard-000000.npy      ... one folder per layer (``features/`` for MFCC, which has none)

``manifest.json``: ``format_version``, ``extractor``, ``layers``, ``dim``, ``frame_rate``,
``sample_rate``, ``weights_sha256``, ``dtype``, ``shards`` ([{name, num_utts, num_frames}]),
``errors`` ([{id, path, reason}]), ``run``. A shard's files are written under temporary names,
fsynced and renamed; the manifest (replaced atomically) then lists the shard: that is the
commit. A rerun skips committed utterances and deletes files of uncommitted shards.

Read with :func:`open_features`; export to fairseq's k-means layout with
:meth:`FeatureStore.export_fairseq` (``{split}_0_1.npy`` float32 + ``{split}_0_1.len``).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SHARD_RE = re.compile(r"^shard-(\d{6})\.(tsv|npy)$")
HEADER_KEYS = ("extractor", "layers", "dim", "frame_rate", "sample_rate", "weights_sha256")


LAYER_DIR_RE = re.compile(r"^(L\d+|features)$")


def _remove_feature_files(directory: Path) -> None:
    """--overwrite removes what a feature store consists of, nothing else of the folder."""
    for p in directory.iterdir():
        if p.is_dir() and LAYER_DIR_RE.match(p.name):
            for f in p.iterdir():
                if SHARD_RE.match(f.name) or f.name.endswith(".tmp"):
                    f.unlink()
            if not any(p.iterdir()):
                p.rmdir()
        elif p.name == MANIFEST or SHARD_RE.match(p.name) or p.name.endswith(".tmp"):
            p.unlink()


def layer_dir(layer: int | None) -> str:
    return "features" if layer is None else f"L{layer}"


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class FeatureWriter:
    def __init__(
        self,
        directory: str | Path,
        header: dict[str, Any],
        *,
        overwrite: bool = False,
        shard_size: int = 1000,
        run: dict[str, Any] | None = None,
    ):
        self.dir = Path(directory)
        if self.dir.exists() and not self.dir.is_dir():
            raise AudiotokError(f"output {self.dir} exists and is not a directory")
        self.dir.mkdir(parents=True, exist_ok=True)
        header = {**header, "format_version": FORMAT_VERSION, "dtype": "float16"}
        old = _read_manifest(self.dir)
        if old is not None and not {"layers", "extractor"} <= old.keys():
            raise AudiotokError(
                f"{self.dir} holds a manifest.json that is not a feature store (a token "
                "store?); choose another directory"
            )
        if old is None and any(self.dir.iterdir()):
            raise AudiotokError(f"output {self.dir} is not empty and holds no feature store")
        if overwrite and old is not None:  # only the store's own files go
            _remove_feature_files(self.dir)
            old = None
        if old is not None:
            diff = [k for k in HEADER_KEYS if old.get(k) != header.get(k)]
            if diff:
                raise AudiotokError(
                    f"{self.dir} holds features with another {diff[0]} ({old.get(diff[0])!r}, "
                    f"now {header.get(diff[0])!r}); use a new directory or --overwrite"
                )
        self.manifest = old or {**header, "shards": [], "errors": []}
        self.manifest["run"] = {**self.manifest.get("run", {}), **(run or {})}
        self.layers: list[int | None] = list(header["layers"])
        self._clean_orphans()
        self.done_ids = {r[0] for s in self.manifest["shards"] for r in _rows(self.dir, s["name"])}
        self.shard_size = shard_size
        self._rows: list[tuple[str, str, int, int]] = []
        self._feats: dict[int | None, list[np.ndarray]] = {la: [] for la in self.layers}
        _write_json_atomic(self.dir / MANIFEST, self.manifest)

    def _clean_orphans(self) -> None:
        listed = {s["name"] for s in self.manifest["shards"]}
        for p in [self.dir, *(self.dir / layer_dir(la) for la in self.layers)]:
            if not p.is_dir():
                continue
            for f in p.iterdir():
                m = SHARD_RE.match(f.name)
                if f.name.endswith(".tmp") or (m and f"shard-{m.group(1)}" not in listed):
                    f.unlink()

    def add(self, utt_id: str, path: str, num_samples: int, feats: dict[Any, np.ndarray]) -> None:
        n = None
        for la in self.layers:
            x = np.asarray(feats[la], dtype=np.float16)
            if n is not None and x.shape[0] != n:
                raise ValueError("layers disagree on the number of frames")
            n = x.shape[0]
            self._feats[la].append(x)
        self._rows.append((utt_id, path, int(num_samples), int(n or 0)))
        self.done_ids.add(utt_id)
        if len(self._rows) >= self.shard_size:
            self.flush()

    def add_error(self, utt_id: str, path: str, reason: str) -> None:
        errs = [e for e in self.manifest["errors"] if e["id"] != utt_id]
        self.manifest["errors"] = [*errs, {"id": utt_id, "path": path, "reason": reason}]

    def flush(self) -> None:
        if not self._rows:
            _write_json_atomic(self.dir / MANIFEST, self.manifest)
            return
        name = f"shard-{len(self.manifest['shards']):06d}"
        staged = []
        for la in self.layers:
            d = self.dir / layer_dir(la)
            d.mkdir(exist_ok=True)
            tmp = d / f"{name}.npy.tmp"
            with open(tmp, "wb") as f:
                np.save(f, np.concatenate(self._feats[la], axis=0))
                f.flush()
                os.fsync(f.fileno())
            staged.append((tmp, d / f"{name}.npy"))
        tmp = self.dir / f"{name}.tsv.tmp"
        with open(tmp, "w", newline="") as f:
            csv.writer(f, delimiter="\t", lineterminator="\n").writerows(self._rows)
            f.flush()
            os.fsync(f.fileno())
        staged.append((tmp, self.dir / f"{name}.tsv"))
        for a, b in staged:
            os.replace(a, b)
        self.manifest["shards"].append(
            {"name": name, "num_utts": len(self._rows), "num_frames": sum(r[3] for r in self._rows)}
        )
        done = {r[0] for r in self._rows}
        self.manifest["errors"] = [e for e in self.manifest["errors"] if e["id"] not in done]
        _write_json_atomic(self.dir / MANIFEST, self.manifest)
        self._rows = []
        self._feats = {la: [] for la in self.layers}

    def close(self) -> None:
        self.flush()


def _read_manifest(d: Path) -> dict | None:
    p = d / MANIFEST
    return json.loads(p.read_text()) if p.is_file() else None


def _rows(d: Path, name: str) -> list[tuple[str, str, int, int]]:
    with open(d / f"{name}.tsv", newline="") as f:
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in csv.reader(f, delimiter="\t")]


class FeatureStore:
    """A feature directory written by ``audiotok extract`` (read-only, memory-mapped)."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        m = _read_manifest(self.dir)
        if m is None:
            raise AudiotokError(f"{self.dir} is not a feature store (no {MANIFEST})")
        self.header: dict[str, Any] = {k: v for k, v in m.items() if k not in ("shards", "run")}
        self.shard_names = [s["name"] for s in m["shards"]]
        self.errors: list[dict[str, str]] = m.get("errors", [])
        self.layers: list[int | None] = list(m["layers"])

    def _layer(self, layer: int | None) -> int | None:
        if layer is None and len(self.layers) == 1:
            return self.layers[0]
        if layer not in self.layers:
            raise AudiotokError(f"{self.dir} holds layers {self.layers}, not {layer}")
        return layer

    def header_for(self, layer: int | None = None) -> dict[str, Any]:
        """extractor, layer, weights_sha256, dim, frame_rate, sample_rate of one layer."""
        la = self._layer(layer)
        h = {k: self.header[k] for k in HEADER_KEYS if k != "layers"}
        return {**h, "layer": la}

    def shards(
        self, layer: int | None = None
    ) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
        """(ids, frame counts, feats[sum frames, dim] float16 memmap) per shard."""
        la = self._layer(layer)
        for name in self.shard_names:
            rows = _rows(self.dir, name)
            arr = np.load(self.dir / layer_dir(la) / f"{name}.npy", mmap_mode="r")
            yield [r[0] for r in rows], np.array([r[3] for r in rows], dtype=np.int64), arr

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        return self.iter()

    def iter(self, layer: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
        """(id, feats[T, dim] float16) per utterance, in shard order."""
        for ids, lens, arr in self.shards(layer):
            off = 0
            for i, n in zip(ids, lens, strict=True):
                yield i, arr[off : off + n]
                off += int(n)

    def __len__(self) -> int:
        return sum(len(_rows(self.dir, n)) for n in self.shard_names)

    def export_fairseq(
        self, out_dir: str | Path, layer: int | None = None, split: str = "train"
    ) -> tuple[Path, Path]:
        """fairseq's ``dump_hubert_feature.py`` output: ``{split}_0_1.npy`` (float32 [N, D]),
        ``{split}_0_1.len`` (frames per utterance, one per line) and ``{split}_0_1.ids``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        total = sum(int(lens.sum()) for _, lens, _ in self.shards(layer))
        stem = out / f"{split}_0_1"
        npy = np.lib.format.open_memmap(
            f"{stem}.npy.tmp", mode="w+", dtype=np.float32, shape=(total, int(self.header["dim"]))
        )
        off = 0
        with open(f"{stem}.len", "w") as fl, open(f"{stem}.ids", "w") as fi:
            for ids, lens, arr in self.shards(layer):
                npy[off : off + arr.shape[0]] = arr
                off += arr.shape[0]
                fl.writelines(f"{int(n)}\n" for n in lens)
                fi.writelines(f"{i}\n" for i in ids)
        npy.flush()
        del npy
        os.replace(f"{stem}.npy.tmp", f"{stem}.npy")
        return Path(f"{stem}.npy"), Path(f"{stem}.len")


def open_features(path: str | Path) -> FeatureStore:
    return FeatureStore(path)
